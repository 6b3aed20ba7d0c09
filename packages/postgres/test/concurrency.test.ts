import { afterAll, describe, expect, it } from 'vitest'
import { openPostgresSpoolStore, type PostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, reportSkipped } from '../src/testing.js'
import { claimAt, send, T0 } from './sends.js'

// Several pools racing to migrate and to claim: PGlite is one connection, so these need a server.
const db = await createTestDatabase({
  name: 'concurrency',
  logger: reportSkipped('concurrency.test.ts (several pools migrating and claiming at once)'),
})
let stores: PostgresSpoolStore[] = []
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  await db.drop()
})

describe.skipIf(db.kind !== 'server')('several stores on one server (needs a PostgreSQL server)', () => {
  it('migrates once when four processes open a fresh database at the same time', async () => {
    stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresSpoolStore({ url: db.url, poolSize: 4 })))
    const report = await stores[0]!.verify()
    expect(report.problems).toEqual([])
  })

  it('never hands the same delivery to two claimers, however many claims run at once', async () => {
    const [a, b] = stores
    const total = 300
    const sends = Array.from({ length: total }, (_, i) => send({ toAgent: 'worker', subject: `m${i}` }))
    await a!.insertMessages({ sends, now: T0 })
    const seen = new Map<number, string>()
    // Each of the two stores runs many claims of 7 in parallel on its own pool until nothing is left.
    const claimer = async (store: PostgresSpoolStore, name: string) => {
      for (;;) {
        const rounds = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            store.claim(claimAt('worker', T0, { limit: 7, receipt: `${name}${i}`, leaseMs: 3_600_000 })),
          ),
        )
        let got = 0
        for (const { claimed } of rounds) {
          for (const c of claimed) {
            expect(seen.has(c.deliveryId), `delivery ${c.deliveryId} claimed twice`).toBe(false)
            seen.set(c.deliveryId, c.receipt)
            got++
          }
        }
        if (got === 0) return
      }
    }
    await Promise.all([claimer(a!, 'a'), claimer(b!, 'b')])
    expect(seen.size).toBe(total)
    const stats = await a!.stats({ now: T0 })
    expect(stats.deliveries.leased).toBe(total)
    expect(stats.deliveries.queued).toBe(0)
  })
})
