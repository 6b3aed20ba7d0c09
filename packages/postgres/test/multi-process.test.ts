import { Spool } from '@agent-comm/spool'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { openPostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '../src/testing.js'
import { type ConsumerReport, overlappingClaims, type ProducerReport, startFixture } from './processes.js'

/**
 * Several Node processes on one PostgreSQL database, each with its own pool, as on several machines. On an
 * idle machine a test takes seconds, on a loaded 2-core runner many times that: the package's vitest bounds
 * (300 s) catch a hang, nothing here measures speed.
 */
const serverUp = await pgServerAvailable()
if (!serverUp && process.env.CI === 'true') {
  throw new Error('These tests need a PostgreSQL server in CI: start it or set AGENT_COMM_TEST_PG_URL')
}

describe.skipIf(!serverUp)(
  serverUp
    ? 'several processes on one PostgreSQL database'
    : 'several processes on one PostgreSQL database (skipped: no PostgreSQL server answers; set AGENT_COMM_TEST_PG_URL)',
  () => {
    const databases: TestDatabase[] = []
    const clients: postgres.Sql[] = []

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.end()))
      await Promise.all(databases.map((d) => d.drop()))
    })

    /** A database of the test's own, migrated, with a spool and a plain SQL client on it in this process. */
    async function database(name: string): Promise<{ url: string; spool: Spool; sql: postgres.Sql }> {
      const db = await createTestDatabase({ name })
      databases.push(db)
      const sql = postgres(db.url, { max: 1, onnotice: () => {} })
      clients.push(sql)
      // Migrated before any process starts, so every process opens a ready database.
      const spool = await Spool.open({ store: await openPostgresSpoolStore({ url: db.url, poolSize: 2 }) })
      return { url: db.url, spool, sql }
    }

    it('lets 4 producers send 8,000 messages while 4 consumers ack each exactly once, none lost', async () => {
      const { url, spool, sql } = await database('multi_process')
      try {
        // Leases of an hour: any second claim of a message during the test would be a claim during a live lease.
        const consumers = Array.from({ length: 4 }, () =>
          startFixture('consumer.mjs', [url, 'builder', '8000', '3600']),
        )
        await Promise.all(consumers.map((c) => c.said('ready')))
        const producers = Array.from({ length: 4 }, (_, p) =>
          startFixture('producer.mjs', [url, `p${p}`, 'builder', '2000']),
        )
        const sent = await Promise.all(producers.map((p) => p.report<ProducerReport>()))
        const consumed = await Promise.all(consumers.map((c) => c.report<ConsumerReport>()))

        for (const report of [...sent, ...consumed]) expect(report.error).toBeUndefined()
        const sentIds = sent.flatMap((r) => r.sent)
        expect(sentIds).toHaveLength(8000)
        expect(new Set(sentIds).size).toBe(8000)
        expect(sent.map((r) => r.duplicates)).toEqual([0, 0, 0, 0])

        const acked = consumed.flatMap((r) => r.acked)
        expect(acked).toHaveLength(8000)
        expect(new Set(acked)).toEqual(new Set(sentIds))
        // Each message was claimed once, at its first attempt: no claim found it under another consumer's
        // live lease (nor was any lease lost and the message handed out again).
        const claims = consumed.flatMap((r) => r.claims)
        expect(claims).toHaveLength(8000)
        expect(new Set(claims.map((c) => c[0])).size).toBe(8000)
        expect(new Set(claims.map((c) => c[1])).size).toBe(8000)
        expect(claims.filter((c) => c[2] !== 1)).toEqual([])
        expect(overlappingClaims(claims)).toEqual([])
        // The work was shared.
        expect(consumed.filter((r) => r.acked.length > 0).length).toBeGreaterThan(1)

        const stats = await spool.stats()
        expect(stats.deliveries).toMatchObject({ acked: 8000, queued: 0, leased: 0, failed: 0 })
        const [row] = await sql<{ maxAttempt: number; messages: number }[]>`
        SELECT (SELECT max(attempt)::int FROM agent_comm.deliveries) AS "maxAttempt",
               (SELECT count(*)::int FROM agent_comm.messages) AS messages`
        expect(row).toEqual({ maxAttempt: 1, messages: 8000 })
        expect((await spool.verify()).ok).toBe(true)
      } finally {
        await spool.close()
      }
    })

    it("redelivers a SIGKILLed consumer's leased messages to another consumer once its lease is over", async () => {
      const { url, spool } = await database('crash')
      try {
        const sent = await spool.sendBatch(
          Array.from({ length: 20 }, (_, i) => ({
            message: { fromAgent: 'architect', toAgent: 'builder', body: `t${i}` },
          })),
        )
        // The victim claims 15 with a 2-second lease, then is killed holding them.
        const victim = startFixture('claim-and-hang.mjs', [url, 'builder', '15', '2'])
        const { claimed, leaseUntil } = await victim.firstLine<{ claimed: string[]; leaseUntil: number }>()
        expect(claimed).toHaveLength(15)
        const killed = new Promise((resolve) => victim.child.on('exit', resolve))
        victim.child.kill('SIGKILL')
        await killed

        const survivor = startFixture('consumer.mjs', [url, 'builder', '20', '600'])
        const report = await survivor.report<ConsumerReport>()
        expect(report.error).toBeUndefined()
        expect(new Set(report.acked)).toEqual(new Set(sent.map((s) => s.messageId)))
        const again = report.claims.filter((c) => claimed.includes(c[0]))
        expect(again.map((c) => c[0]).sort()).toEqual([...claimed].sort())
        // Redelivered as second attempts, each claimed once the victim's lease was over (by the clock the
        // store judged it by), and the other 5 at their first.
        expect(again.every((c) => c[2] === 2 && c[3] >= leaseUntil)).toBe(true)
        expect(report.claims.filter((c) => !claimed.includes(c[0])).every((c) => c[2] === 1)).toBe(true)
        const stats = await spool.stats()
        expect(stats.deliveries).toMatchObject({ acked: 20, queued: 0, leased: 0, failed: 0 })
      } finally {
        await spool.close()
      }
    })

    it('wakes a consumer waiting in one process when another process sends to it', async () => {
      const { url, spool } = await database('wake')
      try {
        // The waiter re-checks on its own only once an hour: only the notification can wake it in time.
        const waiter = startFixture('wait.mjs', [url, 'builder'])
        await waiter.said('ready')
        const sender = startFixture('producer.mjs', [url, 'wake', 'builder', '1'])
        expect((await sender.report<ProducerReport>()).sent).toEqual(['wake-0'])
        const woke = await waiter.report<{ woke: boolean; notifications: number; error?: string }>()
        expect(woke.error).toBeUndefined()
        expect(woke.woke).toBe(true)
        expect(woke.notifications).toBeGreaterThan(0)
        expect((await spool.stats()).deliveries.queued).toBe(1)
      } finally {
        await spool.close()
      }
    })
  },
)
