import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresSpoolStore, type PostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, reportSkipped } from '../src/testing.js'
import { send, T0 } from './sends.js'
import { tcpProxy } from './tcp-proxy.js'

const db = await createTestDatabase({
  name: 'listen_reconnect',
  logger: reportSkipped('listen-reconnect.test.ts (a server cut off and back, through a TCP proxy)'),
})
let proxy: Awaited<ReturnType<typeof tcpProxy>>
const stores: PostgresSpoolStore[] = []

beforeAll(async () => {
  proxy = await tcpProxy()
})
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  await proxy?.close()
  await db.drop()
})

describe.skipIf(db.kind !== 'server')(
  'the change feed across a lost server (needs a PostgreSQL server)',
  () => {
    it('keeps the change feed through a server that stays unreachable for several reconnect attempts', async () => {
      const url = new URL(db.url)
      url.port = String(proxy.port)
      const watcher = await openPostgresSpoolStore({ url: url.toString(), poolSize: 1 })
      const sender = await openPostgresSpoolStore({ url: db.url, poolSize: 1 })
      stores.push(watcher, sender)
      let changes = 0
      const stop = watcher.watch(() => changes++)
      await expect
        .poll(async () => {
          await sender.insertMessages({ sends: [send({ toAgent: 'a' })], now: T0 })
          return changes > 0
        })
        .toBe(true)
      proxy.down()
      await proxy.refusedAtLeast(3)
      proxy.up()
      const before = changes
      // Back up: the feed LISTENs again by itself and reports the reconnect, then hears new sends.
      await expect.poll(() => changes).toBeGreaterThan(before)
      const after = changes
      await expect
        .poll(async () => {
          await sender.insertMessages({ sends: [send({ toAgent: 'b' })], now: T0 })
          return changes > after
        })
        .toBe(true)
      stop()
    })

    it('starts the change feed once PostgreSQL is back when it was unreachable as the first watcher came', async () => {
      const url = new URL(db.url)
      url.port = String(proxy.port)
      const warnings: string[] = []
      const logger = {
        debug() {},
        info() {},
        warn(_: Record<string, unknown>, message: string) {
          warnings.push(message)
        },
        error() {},
      }
      const watcher = await openPostgresSpoolStore({
        url: url.toString(),
        poolSize: 1,
        schema: 'late_feed',
        logger,
      })
      const sender = await openPostgresSpoolStore({ url: db.url, poolSize: 1, schema: 'late_feed' })
      stores.push(watcher, sender)
      proxy.down()
      let changes = 0
      const stop = watcher.watch(() => changes++)
      await proxy.refusedAtLeast(2)
      expect(changes).toBe(0)
      proxy.up()
      // Listening at last: watchers are told to re-check, then hear sends as usual.
      await expect.poll(() => changes).toBeGreaterThan(0)
      // node-postgres fails a LISTEN while the server is away: the feed warned once, and the pooled connection
      // the proxy cut was reported; neither shows the password.
      expect(warnings.filter((w) => w.startsWith('The change feed is not listening'))).toHaveLength(1)
      for (const warning of warnings)
        expect(warning).toMatch(/^(The change feed is not listening|idle PostgreSQL connection lost)/)
      const after = changes
      await expect
        .poll(async () => {
          await sender.insertMessages({ sends: [send({ toAgent: 'c' })], now: T0 })
          return changes > after
        })
        .toBe(true)
      stop()
    })
  },
)
