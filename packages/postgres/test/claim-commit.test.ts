import { afterAll, describe, expect, it } from 'vitest'
import { createNodePostgresClient, openPostgres, openPostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, reportSkipped } from '../src/testing.js'
import { claimAt, send, T0 } from './sends.js'

const db = await createTestDatabase({
  name: 'claim_commit',
  logger: reportSkipped('the claim commit mode (synchronous_commit is a server setting)'),
})
afterAll(() => db.drop())

let n = 0

/**
 * A trigger on `schema`'s deliveries that records, for each row a statement changes, the new status and
 * the `synchronous_commit` in force while that statement runs.
 */
async function recordSettings(
  client: { query(sql: string): Promise<unknown> },
  schema: string,
): Promise<void> {
  await client.query(`CREATE TABLE "${schema}".seen (status text, setting text)`)
  await client.query(
    `CREATE FUNCTION "${schema}".record_setting() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN INSERT INTO "${schema}".seen VALUES (NEW.status, current_setting('synchronous_commit')); RETURN NEW; END $$`,
  )
  await client.query(
    `CREATE TRIGGER record_setting BEFORE UPDATE ON "${schema}".deliveries
     FOR EACH ROW EXECUTE FUNCTION "${schema}".record_setting()`,
  )
}

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
        await recordSettings(client, schema)
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
        const seen = await client.query<{ status: string; setting: string }>(`SELECT * FROM "${schema}".seen`)
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
      await recordSettings(client, schema)
      await client.query(
        `CREATE TRIGGER record_insert BEFORE INSERT ON "${schema}".deliveries
         FOR EACH ROW EXECUTE FUNCTION "${schema}".record_setting()`,
      )
      await database.spool.send({ fromAgent: 'a', toAgent: 'w', body: 'hi' })
      const [claimed] = await database.spool.claim('w')
      await database.spool.ack(claimed!.message.id, 'w', { receipt: claimed!.lease.receipt })
      const seen = await client.query<{ status: string; setting: string }>(
        `SELECT status, setting FROM "${schema}".seen`,
      )
      expect(seen).toEqual([
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
