import { Spool } from '@agent-comm/spool'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, openTestStore } from '../src/testing.js'
import { claimAt, send, T0 } from './sends.js'

// The batched send's fast path (one statement, column arrays as literals, values shared by the whole
// batch sent once), the ack by receipt, and the consistency the dropped foreign key leaves to the writes.
const db = await createTestDatabase({ name: 'batch_send' })
let store: PostgresSpoolStore
let n = 0
const agent = (name: string) => `${name}-${++n}`

beforeAll(async () => {
  store = await openTestStore(db, { poolSize: 4 })
})
afterAll(async () => {
  await store?.close()
  await db.drop()
})

describe('batched sends on PostgreSQL', () => {
  it('stores text with quotes, backslashes, braces, commas and the word NULL exactly as sent', async () => {
    const to = agent('reader')
    const awkward = [
      'say "hi"',
      'back\\slash',
      '{a,b}',
      'NULL',
      '',
      ' spaced ',
      'new\nline',
      'tab\t\\"both\\"',
    ]
    const sends = awkward.map((text, i) =>
      send({
        toAgent: to,
        subject: text,
        body: `${text}|${i}`,
        metadata: { text },
        ...(i % 2 === 0 ? { routing: { replyTo: `msg_${i}`, conversationId: `conv.${i}` } } : {}),
      }),
    )
    expect(await store.insertMessages({ sends, now: T0 })).toEqual({
      ok: true,
      results: sends.map(() => ({ duplicate: false, deliveries: 1 })),
    })
    const { claimed } = await store.claim(claimAt(to, T0, { limit: 20 }))
    expect(claimed.map((c) => c.value)).toEqual(sends.map((s) => s.message))
  })

  it('sends a value shared by the whole batch once and still stores it on every message', async () => {
    const to = agent('reader')
    // Same sender, subject, body, priority and times all through: every shared column takes its one value.
    const sends = Array.from({ length: 5 }, () => send({ toAgent: to, subject: 'same "one"', body: 'same' }))
    await store.insertMessages({ sends, now: T0 })
    const { claimed } = await store.claim(claimAt(to, T0, { limit: 20 }))
    expect(claimed.map((c) => c.value)).toEqual(sends.map((s) => s.message))
  })

  it('writes a batch of one, and a fan-out with one message per several recipients, in batch order', async () => {
    const [a, b, c] = [agent('a'), agent('b'), agent('c')]
    const one = send({ toAgent: a, subject: 'alone' })
    expect(await store.insertMessages({ sends: [one], now: T0 })).toEqual({
      ok: true,
      results: [{ duplicate: false, deliveries: 1 }],
    })
    const fan = send({ toAgent: '*', subject: 'fan' }, { recipients: [b, c] })
    const direct = send({ toAgent: b, subject: 'direct' })
    const none = send({ toAgent: '*', subject: 'nobody' }, { recipients: [] })
    expect(await store.insertMessages({ sends: [fan, direct, none], now: T0 })).toEqual({
      ok: true,
      results: [
        { duplicate: false, deliveries: 2 },
        { duplicate: false, deliveries: 1 },
        { duplicate: false, deliveries: 0 },
      ],
    })
    expect((await store.claim(claimAt(b, T0))).claimed.map((x) => x.value.subject)).toEqual(['fan', 'direct'])
    expect((await store.claim(claimAt(c, T0))).claimed.map((x) => x.value.subject)).toEqual(['fan'])
    expect((await store.claim(claimAt(a, T0))).claimed.map((x) => x.value.subject)).toEqual(['alone'])
    expect(await store.status({ messageId: none.message.id, now: T0 })).toMatchObject({ deliveries: [] })
  })

  it('falls back from the fast path when an id is taken: duplicates reported, nothing else changed', async () => {
    const to = agent('reader')
    const first = send({ toAgent: to, subject: 'first' })
    await store.insertMessages({ sends: [first], now: T0 })
    const second = send({ toAgent: to, subject: 'second' })
    expect(await store.insertMessages({ sends: [second, first], now: T0 })).toEqual({
      ok: true,
      results: [
        { duplicate: false, deliveries: 1 },
        { duplicate: true, deliveries: 0 },
      ],
    })
    const { claimed } = await store.claim(claimAt(to, T0))
    expect(claimed.map((c) => c.value.subject)).toEqual(['first', 'second'])
  })

  it('acks a batch by receipt, and refuses it whole when one receipt is stale', async () => {
    const to = agent('reader')
    const sends = [send({ toAgent: to }), send({ toAgent: to })]
    await store.insertMessages({ sends, now: T0 })
    const { claimed } = await store.claim(claimAt(to, T0, { receipt: 'tok' }))
    const items = claimed.map((c) => ({ messageId: c.value.id, recipient: to, receipt: c.receipt }))
    const stale = [items[0]!, { ...items[1]!, receipt: `other.${claimed[1]!.deliveryId}` }]
    const refused = await store.ackMany({ items: stale, now: T0 })
    expect(refused).toMatchObject({ ok: false, refusedAt: 1 })
    // Nothing was acked: the first still holds its lease.
    expect((await store.status({ messageId: items[0]!.messageId, now: T0 }))?.deliveries[0]?.status).toBe(
      'leased',
    )
    // A receipt not of the claim's form finds nothing by id and takes the item-by-item path.
    expect(await store.ackMany({ items: [{ ...items[0]!, receipt: 'no-id-here' }], now: T0 })).toMatchObject({
      ok: false,
      refusedAt: 0,
    })
    expect(await store.ackMany({ items, now: T0 })).toEqual({ ok: true, alreadyAcked: [false, false] })
    expect(await store.ackMany({ items, now: T0 })).toEqual({ ok: true, alreadyAcked: [true, true] })
  })
})

describe('deliveries without a foreign key', () => {
  it('verify reports a delivery whose message is missing', async () => {
    const before = await store.verify()
    expect(before.ok).toBe(true)
    expect(before.checks).toContain('every delivery references a stored message (no orphan deliveries)')
    const client = db.client()
    await client.query(
      `INSERT INTO agent_comm.deliveries (message_seq, recipient, status, priority, attempt, max_attempts,
         available_at, expires_at, created_at, updated_at)
       VALUES (987654321, 'ghost', 'queued', 2, 0, 3, $1, $2, $1, $1)`,
      [T0, T0 + 86_400_000],
    )
    try {
      const after = await store.verify()
      expect(after.ok).toBe(false)
      expect(after.problems.join('\n')).toMatch(/1 orphan deliveries reference a missing message/)
    } finally {
      await client.query(`DELETE FROM agent_comm.deliveries WHERE message_seq = 987654321`)
    }
    expect((await store.verify()).ok).toBe(true)
  })

  it('cleanup removes the deliveries of the messages it removes', async () => {
    const to = agent('reader')
    const sends = [send({ toAgent: '*' }, { recipients: [to, agent('other')] }), send({ toAgent: to })]
    await store.insertMessages({ sends, now: T0 })
    const later = T0 + 30 * 86_400_000
    const report = await store.cleanup({ dryRun: false, now: later })
    expect(report.expiredMessages).toBeGreaterThanOrEqual(2)
    const client = db.client()
    const [row] = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM agent_comm.deliveries d
       WHERE NOT EXISTS (SELECT 1 FROM agent_comm.messages m WHERE m.seq = d.message_seq)`,
    )
    expect(row!.n).toBe(0)
    expect((await store.verify()).ok).toBe(true)
  })

  it('has no foreign key on deliveries after the migration', async () => {
    const client = db.client()
    const rows = await client.query<{ name: string }>(
      `SELECT conname AS name FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
       WHERE n.nspname = 'agent_comm' AND c.contype = 'f' AND c.conrelid = 'agent_comm.deliveries'::regclass`,
    )
    expect(rows).toEqual([])
  })
})

describe('Spool.sendBatch on PostgreSQL', () => {
  it('gives every message of a batch one timestamp and its own id, delays counted from that moment', async () => {
    const to = agent('reader')
    let now = T0
    const spool = await Spool.open({ store: await openTestStore(db), clock: { now: () => now++ } })
    try {
      const results = await spool.sendBatch([
        { message: { fromAgent: 'architect', toAgent: to, body: 'one' } },
        { message: { fromAgent: 'architect', toAgent: to, body: 'two' }, options: { delaySeconds: 60 } },
      ])
      const [one, two] = results.map((r) => r.message)
      expect(one!.timestamp).toBe(two!.timestamp)
      expect(one!.id).not.toBe(two!.id)
      const status = await spool.status(two!.id)
      expect(Date.parse(status.deliveries[0]!.availableAt ?? '') - Date.parse(two!.timestamp)).toBe(60_000)
    } finally {
      await spool.close()
    }
  })
})
