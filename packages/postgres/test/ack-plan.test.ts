import { afterAll, describe, expect, it } from 'vitest'
import { createNodePostgresClient, openPostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, reportSkipped } from '../src/testing.js'
import { claimAt, send, T0 } from './sends.js'

const db = await createTestDatabase({
  name: 'ack_plan',
  logger: reportSkipped('the batched ack plan (sequential scans are counted by the server)'),
})
afterAll(() => db.drop())

describe.skipIf(db.kind !== 'server')('batched ack plan', () => {
  it('reads no table whole once its prepared plan was made while the tables were small', async () => {
    const schema = 'ack_plan'
    // One connection: its prepared statements and their cached plans are the ones measured.
    const client = createNodePostgresClient({ url: db.url, poolSize: 1 })
    try {
      const store = await openPostgresSpoolStore({ client, schema })
      // No statistics ever, whatever the server's autovacuum does: a prepared statement's generic plan then
      // stays as it was made (PostgreSQL re-plans when statistics change).
      for (const table of ['messages', 'deliveries']) {
        await client.query(`ALTER TABLE "${schema}"."${table}" SET (autovacuum_enabled = false)`)
      }
      const sendTo = async (toAgent: string, count: number) => {
        for (let sent = 0; sent < count; sent += 500) {
          const sends = Array.from({ length: Math.min(500, count - sent) }, () => send({ toAgent }))
          await store.insertMessages({ sends, now: T0 })
        }
      }
      const claimAndAck = async (rounds: number) => {
        for (let r = 0; r < rounds; r++) {
          const { claimed } = await store.claim(claimAt('w', T0, { limit: 10 }))
          expect(claimed).toHaveLength(10)
          const items = claimed.map((c) => ({ messageId: c.value.id, recipient: 'w', receipt: c.receipt }))
          expect(await store.ackMany({ items, now: T0 })).toMatchObject({ ok: true })
        }
      }
      const seqScans = async () => {
        // This connection's counts reach the shared statistics when it flushes them.
        await client.query('SELECT pg_stat_force_next_flush()')
        await client.query('SELECT 1')
        const rows = await client.query<{ n: number }>(
          `SELECT coalesce(sum(seq_scan), 0)::int AS n FROM pg_stat_user_tables
           WHERE schemaname = $1 AND relname IN ('messages', 'deliveries')`,
          [schema],
        )
        return rows[0]!.n
      }
      // Small tables while the batched ack runs its first executions: its generic plan is made now.
      await sendTo('w', 100)
      await claimAndAck(10)
      const plans = await client.query<{ generic: number }>(
        `SELECT generic_plans::int AS generic FROM pg_prepared_statements WHERE statement LIKE '%AS t(message_id, recipient, receipt)%'`,
      )
      expect(plans.map((p) => p.generic).some((g) => g > 0)).toBe(true)
      // The tables grow; nothing analyzes them.
      await sendTo('x', 5_000)
      await sendTo('w', 50)
      const before = await seqScans()
      await claimAndAck(5)
      expect((await seqScans()) - before).toBe(0)
    } finally {
      await client.end()
    }
  }, 60_000)
})
