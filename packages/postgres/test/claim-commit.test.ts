import { afterAll, describe, expect, it } from 'vitest'
import { createNodePostgresClient, openPostgres, openPostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, recordCommitSettings, reportSkipped } from '../src/testing.js'
import { claimAt, send, T0 } from './sends.js'

const db = await createTestDatabase({
  name: 'claim_commit',
  logger: reportSkipped('the claim commit mode (synchronous_commit is a server setting)'),
})
afterAll(() => db.drop())

let n = 0

describe.skipIf(db.kind !== 'server')('claim commit mode', () => {
  for (const [claimCommit, expected] of [
    [undefined, 'on'],
    ['durable', 'on'],
    ['relaxed', 'off'],
  ] as const) {
    it(`commits claims and acks with synchronous_commit ${expected} when claimCommit is ${claimCommit ?? 'left out'}, for those statements alone`, async () => {
      const schema = `claim_commit_${++n}`
      // One connection, so the statement after a claim's or an ack's runs where that one ran.
      const client = createNodePostgresClient({ url: db.url, poolSize: 1 })
      try {
        const store = await openPostgresSpoolStore({
          client,
          schema,
          ...(claimCommit === undefined ? {} : { claimCommit }),
        })
        const recorded = await recordCommitSettings(client, schema)
        const sends = [send({ toAgent: 'w' }), send({ toAgent: 'w' }), send({ toAgent: 'w' })]
        await store.insertMessages({ sends, now: T0 })
        const { claimed } = await store.claim(claimAt('w', T0, { limit: 3 }))
        expect(claimed).toHaveLength(3)
        const [one, ...rest] = claimed
        expect(
          await store.ack({ messageId: one!.value.id, recipient: 'w', receipt: one!.receipt, now: T0 }),
        ).toEqual({
          changed: true,
        })
        const items = rest.map((c) => ({ messageId: c.value.id, recipient: 'w', receipt: c.receipt }))
        expect(await store.ackMany({ items, now: T0 })).toMatchObject({ ok: true })
        // A reply, claimed by its own statement.
        const reply = send({ toAgent: 'w', routing: { replyTo: one!.value.id } })
        await store.insertMessages({ sends: [reply], now: T0 })
        expect(
          (await store.claimReply({ ...claimAt('w', T0), replyTo: one!.value.id })).claimed,
        ).toHaveLength(1)
        const seen = await recorded()
        expect(seen.map((r) => r.status)).toEqual([
          'leased',
          'leased',
          'leased',
          'acked',
          'acked',
          'acked',
          'leased',
        ])
        expect(new Set(seen.map((r) => r.setting))).toEqual(new Set([expected]))
        // Local to those statements: the next one on the same connection has the server's default again.
        const [after] = await client.query<{ setting: string }>(
          "SELECT current_setting('synchronous_commit') AS setting",
        )
        expect(after?.setting).toBe('on')
        await store.close()
      } finally {
        await client.end()
      }
    })
  }

  it('passes the mode on from openPostgres, and keeps a send durable', async () => {
    const schema = `claim_commit_${++n}`
    const database = await openPostgres({ url: db.url, schema, claimCommit: 'relaxed' })
    const client = createNodePostgresClient({ url: db.url, poolSize: 1 })
    try {
      const recorded = await recordCommitSettings(client, schema, { inserts: true })
      await database.spool.send({ fromAgent: 'a', toAgent: 'w', body: 'hi' })
      const [claimed] = await database.spool.claim('w')
      await database.spool.ack(claimed!.message.id, 'w', { receipt: claimed!.lease.receipt })
      expect(await recorded()).toEqual([
        { status: 'queued', setting: 'on' },
        { status: 'leased', setting: 'off' },
        { status: 'acked', setting: 'off' },
      ])
    } finally {
      await client.end()
      await database.close()
    }
  })
})
