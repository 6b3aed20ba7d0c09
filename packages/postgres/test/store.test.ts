import type { MessageInput } from '@agent-comm/protocol'
import type { MessageRecord } from '@agent-comm/spool'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, openTestStore } from '../src/testing.js'
import { claimAt, send, T0 } from './sends.js'

const db = await createTestDatabase({ name: 'store' })
let store: PostgresSpoolStore
// Every test uses its own recipients, so the tests share one database without seeing each other's rows.
let n = 0
const agent = (name: string) => `${name}-${++n}`

beforeAll(async () => {
  store = await openTestStore(db, { poolSize: 4 })
})
afterAll(async () => {
  await store?.close()
  await db.drop()
})

describe('PostgresSpoolStore', () => {
  it('claims critical, high, normal, low, then oldest first, and acks', async () => {
    const to = agent('builder')
    const priorities = ['low', 'normal', 'critical', 'high', 'critical'] as const
    const sends = priorities.map((priority, i) => send({ toAgent: to, priority, subject: `s${i}` }))
    const inserted = await store.insertMessages({ sends, now: T0 })
    expect(inserted).toEqual({ ok: true, results: sends.map(() => ({ duplicate: false, deliveries: 1 })) })
    const { claimed, deadLettered } = await store.claim(claimAt(to, T0, { limit: 10, receipt: 'abc' }))
    expect(deadLettered).toEqual([])
    expect(claimed.map((c) => c.value.subject)).toEqual(['s2', 's4', 's3', 's1', 's0'])
    expect(claimed.every((c) => c.attempt === 1 && c.maxAttempts === 3)).toBe(true)
    expect(claimed[0]!.receipt).toBe(`abc.${claimed[0]!.deliveryId}`)
    expect((await store.claim(claimAt(to, T0))).claimed).toEqual([])
    const first = claimed[0]!
    expect(
      await store.ack({ messageId: first.value.id, recipient: to, receipt: first.receipt, now: T0 }),
    ).toEqual({ changed: true })
    expect(
      await store.ack({ messageId: first.value.id, recipient: to, receipt: first.receipt, now: T0 }),
    ).toEqual({
      changed: false,
      state: { status: 'acked', attempt: 1, maxAttempts: 3, receipt: first.receipt },
    })
    const status = await store.status({ messageId: first.value.id, now: T0 })
    expect(status?.deliveries.map((d) => d.status)).toEqual(['acked'])
    expect(status?.message).toEqual(sends[2]!.message)
  })

  it('reports a duplicate of the same sender and refuses another sender’s id, writing nothing', async () => {
    const to = agent('builder')
    const first = send({ toAgent: to })
    await store.insertMessages({ sends: [first], now: T0 })
    const again = await store.insertMessages({ sends: [first], now: T0 })
    expect(again).toEqual({ ok: true, results: [{ duplicate: true, deliveries: 0 }] })
    const fresh = send({ toAgent: to, subject: 'fresh' })
    const stolen = send({ toAgent: to, id: first.message.id, fromAgent: 'intruder' })
    expect(await store.insertMessages({ sends: [fresh, stolen], now: T0 })).toEqual({
      ok: false,
      foreignIdAt: 1,
    })
    expect(await store.status({ messageId: fresh.message.id, now: T0 })).toBeUndefined()
  })

  it('stores a batch in order: fan-out counted per message, an id twice in one batch is a duplicate', async () => {
    const to = agent('batch')
    const existing = send({ toAgent: to, subject: 'existing' })
    await store.insertMessages({ sends: [existing], now: T0 })
    const group = send({ toAgent: '*', subject: 'group' }, { recipients: [to, `${to}-b`, `${to}-c`] })
    const twice = send({ toAgent: to, subject: 'twice' })
    const out = await store.insertMessages({ sends: [existing, group, twice, twice], now: T0 })
    expect(out).toEqual({
      ok: true,
      results: [
        { duplicate: true, deliveries: 0 },
        { duplicate: false, deliveries: 3 },
        { duplicate: false, deliveries: 1 },
        { duplicate: true, deliveries: 0 },
      ],
    })
    const batch = await store.insertMessages({
      sends: [existing, send({ toAgent: to, subject: 'last' }, { recipients: [to] })],
      now: T0,
    })
    expect(batch).toEqual({
      ok: true,
      results: [
        { duplicate: true, deliveries: 0 },
        { duplicate: false, deliveries: 1 },
      ],
    })
    const claimed = (await store.claim(claimAt(to, T0))).claimed.map((c) => c.value.subject)
    expect(claimed).toEqual(['existing', 'group', 'twice', 'last'])
  })

  it('fences ack, release and extend by the receipt of the current claim', async () => {
    const to = agent('builder')
    const s = send({ toAgent: to })
    await store.insertMessages({ sends: [s], now: T0 })
    const [old] = (await store.claim(claimAt(to, T0, { leaseMs: 1000, receipt: 'one' }))).claimed
    // The lease runs out and another consumer claims it again.
    const [current] = (await store.claim(claimAt(to, T0 + 2000, { receipt: 'two' }))).claimed
    expect(current!.attempt).toBe(2)
    const id = s.message.id
    const stale = { messageId: id, recipient: to, receipt: old!.receipt, now: T0 + 2000 }
    const leased = { status: 'leased', attempt: 2, maxAttempts: 3, receipt: current!.receipt }
    expect(await store.ack(stale)).toEqual({ changed: false, state: leased })
    expect(await store.extendLease({ ...stale, leaseUntil: T0 + 9000 })).toEqual({
      changed: false,
      state: leased,
    })
    expect(
      await store.release({
        ...stale,
        reason: 'x',
        deadLetter: false,
        handBack: false,
        availableAt: () => T0 + 2000,
      }),
    ).toEqual({ changed: false, state: leased })
    const valid = { ...stale, receipt: current!.receipt }
    expect(await store.extendLease({ ...valid, leaseUntil: T0 + 9000 })).toEqual({
      changed: true,
      leaseUntil: T0 + 9000,
    })
    expect(await store.ack({ ...valid, receipt: null })).toEqual({ changed: true })
    expect(await store.ack({ messageId: 'msg_unknown', recipient: to, receipt: null, now: T0 })).toEqual({
      changed: false,
      state: null,
    })
  })

  it('releases for a retry, then fails the delivery at maxAttempts with the reason', async () => {
    const to = agent('builder')
    const s = send({ toAgent: to }, { maxAttempts: 2 })
    await store.insertMessages({ sends: [s], now: T0 })
    const seen: number[] = []
    const release = async (now: number) => {
      const [c] = (await store.claim(claimAt(to, now))).claimed
      return store.release({
        messageId: s.message.id,
        recipient: to,
        receipt: c!.receipt,
        now,
        reason: `boom ${c!.attempt}`,
        deadLetter: false,
        handBack: false,
        availableAt: (attempt) => {
          seen.push(attempt)
          return now + 5000
        },
      })
    }
    expect(await release(T0)).toEqual({
      changed: true,
      status: 'queued',
      attempt: 1,
      maxAttempts: 2,
      availableAt: T0 + 5000,
    })
    expect(await store.hasClaimable({ recipient: to, now: T0 + 4999 })).toBe(false)
    expect(await store.nextAvailableAt({ recipient: to, now: T0 })).toBe(T0 + 5000)
    expect(await release(T0 + 5000)).toMatchObject({ changed: true, status: 'failed', attempt: 2 })
    expect(seen).toEqual([1, 2])
    const failed = await store.listFailed({ agent: to, limit: 10, now: T0 + 5000 })
    expect(failed.map((f) => [f.message.id, f.delivery.status, f.delivery.lastError])).toEqual([
      [s.message.id, 'failed', 'boom 2'],
    ])
    expect(await store.requeueFailed({ messageId: s.message.id, recipient: to, now: T0 + 6000 })).toEqual({
      requeued: 1,
      messageExists: true,
      state: null,
      withdrawn: 0,
    })
    const [again] = (await store.claim(claimAt(to, T0 + 6000))).claimed
    expect(again!.attempt).toBe(1)
    expect(await store.requeueFailed({ messageId: s.message.id, recipient: to, now: T0 + 6000 })).toEqual({
      requeued: 0,
      messageExists: true,
      state: { status: 'leased', attempt: 1, maxAttempts: 2, receipt: again!.receipt },
      withdrawn: 0,
    })
    expect(await store.requeueFailed({ messageId: 'msg_none', now: T0 })).toEqual({
      requeued: 0,
      messageExists: false,
      state: null,
      withdrawn: 0,
    })
  })

  it('dead-letters a release with deadLetter at once', async () => {
    const to = agent('builder')
    const s = send({ toAgent: to })
    await store.insertMessages({ sends: [s], now: T0 })
    const [c] = (await store.claim(claimAt(to, T0))).claimed
    const out = await store.release({
      messageId: s.message.id,
      recipient: to,
      receipt: c!.receipt,
      now: T0,
      reason: 'poison',
      deadLetter: true,
      handBack: false,
      availableAt: () => T0,
    })
    expect(out).toMatchObject({ changed: true, status: 'failed', attempt: 1 })
  })

  it('withdraws a queued or a leased delivery as failed and settled, so no claim gets it, no dead letter lists it, and leaves an acked one', async () => {
    const to = agent('builder')
    const queued = send({ toAgent: to })
    await store.insertMessages({ sends: [queued], now: T0 })
    const withdraw = (messageId: string) =>
      store.withdraw({ messageId, recipient: to, reason: 'canceled', now: T0 })
    expect(await withdraw(queued.message.id)).toEqual({ changed: true })
    expect((await store.claim(claimAt(to, T0))).claimed).toEqual([])
    const leased = send({ toAgent: to })
    await store.insertMessages({ sends: [leased], now: T0 })
    const [c] = (await store.claim(claimAt(to, T0))).claimed
    expect(await withdraw(leased.message.id)).toEqual({ changed: true })
    expect(
      await store.ack({ messageId: leased.message.id, recipient: to, receipt: c!.receipt, now: T0 }),
    ).toMatchObject({ changed: false, state: { status: 'failed' } })
    expect(await store.listFailed({ agent: to, limit: 10, now: T0 })).toEqual([])
    expect(await store.requeueFailed({ messageId: queued.message.id, now: T0 })).toMatchObject({
      requeued: 0,
      withdrawn: 1,
    })
    expect(await withdraw(queued.message.id)).toMatchObject({ changed: false, state: { status: 'failed' } })
  })

  it('reclaims an expired lease with the attempt counted, and sweeps a last-attempt lease to failed', async () => {
    const to = agent('builder')
    const s = send({ toAgent: to }, { maxAttempts: 2 })
    await store.insertMessages({ sends: [s], now: T0 })
    await store.claim(claimAt(to, T0, { leaseMs: 1000 }))
    expect(await store.hasClaimable({ recipient: to, now: T0 + 999 })).toBe(false)
    expect(await store.hasClaimable({ recipient: to, now: T0 + 1000 })).toBe(true)
    const [second] = (await store.claim(claimAt(to, T0 + 1000, { leaseMs: 1000 }))).claimed
    expect(second!.attempt).toBe(2)
    let status = await store.status({ messageId: s.message.id, now: T0 + 1000 })
    expect(status!.deliveries[0]!.lastError).toBe('lease expired without an ack on attempt 1')
    // Its last attempt's lease runs out: never claimable again, swept to failed.
    expect(await store.hasClaimable({ recipient: to, now: T0 + 5000 })).toBe(false)
    expect(await store.nextAvailableAt({ recipient: to, now: T0 + 5000 })).toBeNull()
    expect(await store.sweepExhaustedLeases({ now: T0 + 5000 })).toBeGreaterThanOrEqual(1)
    status = await store.status({ messageId: s.message.id, now: T0 + 5000 })
    expect(status!.deliveries[0]).toMatchObject({
      status: 'failed',
      lastError: 'lease expired without an ack on the last attempt (2 of 2)',
      leaseUntil: null,
    })
  })

  it('never delivers a message past its TTL and reads it as expired; cleanup removes it (dry run first)', async () => {
    const to = agent('ttl')
    const s = send({ toAgent: to, routing: { ttlHours: 1 } })
    await store.insertMessages({ sends: [s], now: T0 })
    const later = T0 + 3_600_000
    expect(await store.hasClaimable({ recipient: to, now: later })).toBe(false)
    expect((await store.claim(claimAt(to, later))).claimed).toEqual([])
    expect((await store.status({ messageId: s.message.id, now: later }))!.deliveries[0]!.status).toBe(
      'expired',
    )
    const stats = await store.stats({ now: later })
    expect(stats.deliveries.expired).toBeGreaterThanOrEqual(1)
    const dry = await store.cleanup({ dryRun: true, now: later })
    expect(dry.dryRun).toBe(true)
    expect(dry.expiredMessages).toBeGreaterThanOrEqual(1)
    expect(await store.status({ messageId: s.message.id, now: later })).toBeDefined()
    const done = await store.cleanup({ dryRun: false, now: later })
    expect(done).toEqual({ ...dry, dryRun: false })
    expect(await store.status({ messageId: s.message.id, now: later })).toBeUndefined()
  })

  it('keeps a delayed delivery invisible until its time, and pending shows it in claim order', async () => {
    const to = agent('delay')
    const late = send({ toAgent: to, priority: 'critical' }, { availableAt: T0 + 10_000 })
    const now = send({ toAgent: to, priority: 'low' })
    await store.insertMessages({ sends: [late, now], now: T0 })
    expect((await store.claim(claimAt(to, T0, { leaseMs: 100_000 }))).claimed.map((c) => c.value.id)).toEqual(
      [now.message.id],
    )
    expect(await store.nextAvailableAt({ recipient: to, now: T0 })).toBe(T0 + 10_000)
    const pending = await store.pending({ recipient: to, limit: 10, now: T0 })
    expect(pending.map((p) => [p.message.id, p.delivery.status])).toEqual([
      [late.message.id, 'queued'],
      [now.message.id, 'leased'],
    ])
    expect(pending[0]!.delivery.availableAt).toBe(new Date(T0 + 10_000).toISOString())
    expect((await store.claim(claimAt(to, T0 + 10_000))).claimed.map((c) => c.value.id)).toEqual([
      late.message.id,
    ])
  })

  it('holds a group message and releases it once to each matching agent that registers later', async () => {
    const who = agent('newcomer')
    const cap = `cap${n}`
    const held = send({ toAgent: `capability:${cap}` }, { recipients: [] })
    expect(await store.holdMessage({ send: held, heldUntil: held.expiresAt, now: T0 })).toEqual({
      foreignId: false,
    })
    const status = await store.status({ messageId: held.message.id, now: T0 })
    expect(status!.deliveries).toEqual([])
    expect(status!.heldUntil).toBe(new Date(held.expiresAt).toISOString())
    const release = { agentId: who, capabilities: [cap], now: T0, defaultMaxAttempts: 3 }
    expect(await store.releaseHeld({ ...release, capabilities: ['other'] })).toBe(0)
    expect(await store.releaseHeld(release)).toBe(1)
    expect(await store.releaseHeld(release)).toBe(0)
    expect(await store.releaseHeld({ ...release, agentId: 'architect' })).toBe(0)
    const [c] = (await store.claim(claimAt(who, T0))).claimed
    expect(c!.value.id).toBe(held.message.id)
    const foreign = send({ toAgent: '*', id: held.message.id, fromAgent: 'intruder' }, { recipients: [] })
    expect(await store.holdMessage({ send: foreign, heldUntil: T0 + 1, now: T0 })).toEqual({
      foreignId: true,
    })
  })

  it('dead-letters a row decode refuses in the claim’s transaction and fills the claim with the next', async () => {
    const to = agent('decode')
    const bad = send({ toAgent: to, priority: 'critical', subject: 'bad' })
    const good = send({ toAgent: to, subject: 'good' })
    await store.insertMessages({ sends: [bad, good], now: T0 })
    const out = await store.claim({
      ...claimAt(to, T0, { limit: 1 }),
      decode: (row) => (row.subject === 'bad' ? { unreadable: 'damaged' } : { value: row.subject }),
    })
    expect(out.claimed.map((c) => c.value)).toEqual(['good'])
    expect(out.deadLettered).toEqual([{ messageId: bad.message.id, reason: 'damaged' }])
    const failed = await store.listFailed({ agent: to, limit: 10, now: T0 })
    expect(failed.map((f) => [f.message.id, f.delivery.lastError, f.delivery.attempt])).toEqual([
      [bad.message.id, 'damaged', 1],
    ])
  })

  it('settles and claims in one call, dead-lettering a row decode refuses and filling the claim with the next', async () => {
    const to = agent('settle')
    const handled = send({ toAgent: to, priority: 'critical', subject: 'handled' })
    await store.insertMessages({ sends: [handled], now: T0 })
    const [lease] = (await store.claim(claimAt(to, T0, { limit: 1 }))).claimed
    const bad = send({ toAgent: to, priority: 'high', subject: 'bad' })
    const good = send({ toAgent: to, subject: 'good' })
    await store.insertMessages({ sends: [bad, good], now: T0 })
    const out = await store.ackAndClaim({
      acks: {
        items: [{ messageId: handled.message.id, recipient: to, receipt: lease!.receipt }],
        now: T0 + 1,
      },
      claim: {
        ...claimAt(to, T0 + 1, { limit: 1 }),
        decode: (row) => (row.subject === 'bad' ? { unreadable: 'damaged' } : { value: row.subject }),
      },
    })
    expect(out).toMatchObject({
      ok: true,
      alreadyAcked: [false],
      deadLettered: [{ messageId: bad.message.id }],
    })
    expect(out.ok && out.claimed.map((c) => c.value)).toEqual(['good'])
    const status = await store.status({ messageId: handled.message.id, now: T0 + 1 })
    expect(status?.deliveries.map((d) => d.status)).toEqual(['acked'])
  })

  it('dead-letters a reply or a named message decode refuses, in the claim’s transaction', async () => {
    const to = agent('decode-one')
    const request = send({ fromAgent: to, toAgent: 'builder', subject: 'Question' })
    const badReply = send({
      fromAgent: 'builder',
      toAgent: to,
      subject: 'bad',
      priority: 'critical',
      routing: { replyTo: request.message.id },
    } as Partial<MessageInput>)
    const goodReply = send({
      fromAgent: 'builder',
      toAgent: to,
      subject: 'good',
      routing: { replyTo: request.message.id },
    } as Partial<MessageInput>)
    const named = send({ toAgent: to, subject: 'bad' })
    await store.insertMessages({ sends: [request, badReply, goodReply, named], now: T0 })
    const refuseBad = (row: MessageRecord) =>
      row.subject === 'bad' ? { unreadable: 'damaged' } : { value: row.subject }
    const { limit: _limit, ...params } = claimAt(to, T0)
    // The reply claim dead-letters the unreadable reply and takes the next one.
    const replies = await store.claimReply({ ...params, replyTo: request.message.id, decode: refuseBad })
    expect(replies.claimed.map((c) => c.value)).toEqual(['good'])
    expect(replies.deadLettered).toEqual([{ messageId: badReply.message.id, reason: 'damaged' }])
    // The claim of one named message dead-letters it and claims nothing.
    const one = await store.claimMessage({ ...params, messageId: named.message.id, decode: refuseBad })
    expect(one).toEqual({ claimed: [], deadLettered: [{ messageId: named.message.id, reason: 'damaged' }] })
    const failed = await store.listFailed({ agent: to, limit: 10, now: T0 })
    expect(failed.map((f) => [f.message.id, f.delivery.lastError]).sort()).toEqual(
      [
        [badReply.message.id, 'damaged'],
        [named.message.id, 'damaged'],
      ].sort(),
    )
  })

  it('acks many in one transaction, and rolls all back when one is refused', async () => {
    const to = agent('many')
    const sends = [send({ toAgent: to }), send({ toAgent: to })]
    await store.insertMessages({ sends, now: T0 })
    const claimed = (await store.claim(claimAt(to, T0))).claimed
    const items = claimed.map((c) => ({ messageId: c.value.id, recipient: to, receipt: c.receipt }))
    const refused = await store.ackMany({
      items: [items[0]!, { ...items[1]!, receipt: 'wrong' }],
      now: T0,
    })
    expect(refused).toMatchObject({ ok: false, refusedAt: 1, state: { status: 'leased' } })
    expect((await store.status({ messageId: items[0]!.messageId, now: T0 }))!.deliveries[0]!.status).toBe(
      'leased',
    )
    expect(await store.ackMany({ items, now: T0 })).toEqual({ ok: true, alreadyAcked: [false, false] })
    expect(await store.ackMany({ items, now: T0 })).toEqual({ ok: true, alreadyAcked: [true, true] })
  })

  it('acks a batch mixing fresh and already acked items, and a batch naming one delivery twice', async () => {
    const to = agent('mixed')
    const sends = [send({ toAgent: to }), send({ toAgent: to }), send({ toAgent: to })]
    await store.insertMessages({ sends, now: T0 })
    const claimed = (await store.claim(claimAt(to, T0))).claimed
    const items = claimed.map((c) => ({ messageId: c.value.id, recipient: to, receipt: c.receipt }))
    expect(await store.ackMany({ items: [items[1]!], now: T0 })).toEqual({ ok: true, alreadyAcked: [false] })
    expect(await store.ackMany({ items, now: T0 })).toEqual({ ok: true, alreadyAcked: [false, true, false] })
    const again = [send({ toAgent: to })]
    await store.insertMessages({ sends: again, now: T0 })
    const [c] = (await store.claim(claimAt(to, T0))).claimed
    const item = { messageId: c!.value.id, recipient: to, receipt: c!.receipt }
    expect(await store.ackMany({ items: [item, item], now: T0 })).toEqual({
      ok: true,
      alreadyAcked: [false, true],
    })
    // A refused item after an already acked one: refused at its own position, nothing changed.
    const last = [send({ toAgent: to })]
    await store.insertMessages({ sends: last, now: T0 })
    const [d] = (await store.claim(claimAt(to, T0))).claimed
    const refused = await store.ackMany({
      items: [item, { messageId: d!.value.id, recipient: to, receipt: 'wrong' }],
      now: T0,
    })
    expect(refused).toMatchObject({ ok: false, refusedAt: 1, state: { status: 'leased' } })
  })

  it('reads conversations, stats and a clean verify', async () => {
    const a = agent('talker')
    const first = send({ fromAgent: 'zed', toAgent: a, subject: 'Thread start' })
    const reply = send(
      {
        fromAgent: a,
        toAgent: 'zed',
        subject: 'Re',
        routing: { conversationId: first.message.routing.conversationId, replyTo: first.message.id },
      },
      { now: T0 + 1000 },
    )
    await store.insertMessages({ sends: [first, reply], now: T0 })
    const thread = await store.conversation({ conversationId: first.message.routing.conversationId })
    expect(thread).toEqual([first.message, reply.message])
    const [summary] = await store.conversations({ limit: 10, agent: a })
    expect(summary).toEqual({
      conversationId: first.message.routing.conversationId,
      subject: 'Thread start',
      participants: [a, 'zed'].sort(),
      messageCount: 2,
      firstActivity: new Date(T0).toISOString(),
      lastActivity: new Date(T0 + 1000).toISOString(),
    })
    const stats = await store.stats({ now: T0 })
    expect(stats.agents[a]).toEqual({ queued: 1, leased: 0, failed: 0 })
    expect(stats.totalMessages).toBeGreaterThan(0)
    const report = await store.verify()
    expect(report.problems).toEqual([])
    expect(report.ok).toBe(true)
  })

  it('answers a call that started before close() rather than ending the pool under it', async () => {
    const closing = await openTestStore(db, { schema: 'closing', poolSize: 1 })
    const sends = [send({ toAgent: 'closer' })]
    const inserted = closing.insertMessages({ sends, now: T0 })
    const checked = closing.hasClaimable({ recipient: 'closer', now: T0 })
    await closing.close()
    expect(await inserted).toMatchObject({ ok: true })
    expect(await checked).toBe(true)
    // A call after close fails at once with CLOSED, not after a connect timeout.
    await expect(closing.hasClaimable({ recipient: 'closer', now: T0 })).rejects.toMatchObject({
      code: 'CLOSED',
    })
  })
})
