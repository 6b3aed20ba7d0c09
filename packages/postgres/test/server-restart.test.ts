import { Spool } from '@agent-comm/spool'
import { describeOnPrivateCluster } from '@agent-comm/test-support/private-cluster'
import postgres from 'postgres'
import { expect, it } from 'vitest'
import { openPostgresSpoolStore } from '../src/index.js'
import { type ConsumerReport, type ProducerReport, type StorageErrorSeen, startFixture } from './processes.js'

/**
 * PostgreSQL restarted under load. The shared test server must stay up for the other test files, so this
 * file starts a cluster of its own; where that is impossible it says why and skips, except in CI, where
 * a missing PostgreSQL 15 is a failure.
 */
describeOnPrivateCluster('PostgreSQL restarted in the middle of the load', (cluster) => {
  it('keeps every acknowledged send exactly once; producers and consumers see StorageError and recover', async () => {
    const url = cluster().url
    // Migrated before the processes start.
    await (await Spool.open({ store: await openPostgresSpoolStore({ url, poolSize: 1 }) })).close()
    // Short leases: a claim the server committed but whose answer the restart lost goes to someone again.
    const consumers = Array.from({ length: 3 }, () =>
      startFixture('consumer.mjs', [url, 'builder', '-', '5']),
    )
    await Promise.all(consumers.map((c) => c.said('ready')))
    // The producers send until told to finish, so they are certainly sending while the server is away.
    const producers = Array.from({ length: 3 }, (_, p) =>
      startFixture('producer.mjs', [url, `p${p}`, 'builder', '-']),
    )
    await Promise.all(producers.map((p) => p.said('sent 200')))

    await cluster().stop()
    // Every process has hit the outage before the server comes back…
    await Promise.all([...producers, ...consumers].map((f) => f.said('storage-error')))
    await cluster().start()
    // …and carries on by itself once it is back.
    await Promise.all([...producers, ...consumers].map((f) => f.said('recovered')))

    for (const p of producers) p.tell('finish')
    const sent = await Promise.all(producers.map((p) => p.report<ProducerReport>()))
    for (const report of sent) expect(report.error).toBeUndefined()
    const sentIds = sent.flatMap((r) => r.sent)
    expect(new Set(sentIds).size).toBe(sentIds.length)
    for (const c of consumers) c.tell(`total ${sentIds.length}`)
    const consumed = await Promise.all(consumers.map((c) => c.report<ConsumerReport>()))
    for (const report of consumed) expect(report.error).toBeUndefined()

    for (const report of [...sent, ...consumed]) {
      expect(report.storageErrors).toBeGreaterThan(0)
      expect(report.recovered).toBe(true)
      expect(report.firstStorageError).toMatchObject({
        name: 'StorageError',
        code: 'STORAGE',
        reason: expect.stringMatching(/^(unreachable|connection-lost)$/),
        hint: expect.stringMatching(/\S/),
      } satisfies Partial<Record<keyof StorageErrorSeen, unknown>>)
    }

    // Every acknowledged send is stored exactly once, with one delivery, and every one was acked.
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      const rows = await sql<{ id: string; deliveries: number; acked: number }[]>`
        SELECT m.id, count(d.id)::int AS deliveries, count(d.id) FILTER (WHERE d.status = 'acked')::int AS acked
        FROM agent_comm.messages m LEFT JOIN agent_comm.deliveries d ON d.message_seq = m.seq
        GROUP BY m.id`
      expect(rows).toHaveLength(sentIds.length)
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(sentIds))
      expect(rows.filter((r) => r.deliveries !== 1 || r.acked !== 1)).toEqual([])
    } finally {
      await sql.end()
    }
    const acked = new Set(consumed.flatMap((r) => r.acked))
    expect(acked).toEqual(new Set(sentIds))
  })
})
