import { expiresAt, ManualClock, type MessageV2 } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, openTestStore } from '../src/testing.js'
import { decode, send, T0 } from './sends.js'

/**
 * The same history written to the SQLite spool (through its API) and to the PostgreSQL store (through the
 * seam, with the arguments the spool would pass), then every read compared: the answers must be equal.
 */
const db = await createTestDatabase({ name: 'parity' })
let store: PostgresSpoolStore
let spool: Spool
const clock = new ManualClock(T0)

beforeAll(async () => {
  store = await openTestStore(db)
  spool = await Spool.open({ path: ':memory:', clock })
})
afterAll(async () => {
  await spool?.close()
  await store?.close()
  await db.drop()
})

/** Sends `message` on both. */
async function both(
  message: MessageV2,
  options: { recipients?: string[]; delaySeconds?: number; maxAttempts?: number } = {},
) {
  await spool.send(message, options)
  const now = clock.now()
  const result = await store.insertMessages({
    sends: [
      {
        message,
        recipients: options.recipients ?? [message.toAgent],
        availableAt: now + (options.delaySeconds ?? 0) * 1000,
        maxAttempts: options.maxAttempts ?? 3,
        expiresAt: expiresAt(message),
      },
    ],
    now,
  })
  expect(result.ok).toBe(true)
}

/** Claims on both; returns the pairs of receipts by message id. */
async function claimBoth(agent: string, limit: number, leaseSeconds: number) {
  const now = clock.now()
  const fromSpool = await spool.claim(agent, { limit, leaseSeconds })
  const fromStore = await store.claim({
    recipient: agent,
    now,
    leaseUntil: now + leaseSeconds * 1000,
    limit,
    receipt: `pg${now}`,
    decode,
  })
  expect(fromStore.claimed.map((c) => c.value)).toEqual(fromSpool.map((c) => c.message))
  expect(fromStore.claimed.map((c) => c.attempt)).toEqual(fromSpool.map((c) => c.lease.attempt))
  return fromSpool.map((c, i) => ({
    id: c.message.id,
    sqlite: c.lease.receipt,
    pg: fromStore.claimed[i]!.receipt,
  }))
}

it('answers every read exactly as the SQLite spool does for the same history', async () => {
  const at = (ms: number) => new Date(T0 + ms).toISOString()
  const m = (id: string, fields: Partial<MessageV2>): MessageV2 =>
    send({ id, ...fields } as never, { now: clock.now() }).message
  const m1 = m('msg_parity_1', { subject: 'Task: Auth', body: 'Implement JWT' })
  const m2 = m('msg_parity_2', { subject: 'Urgent fix', priority: 'critical' })
  const m3 = m('msg_parity_3', { toAgent: '*', subject: 'Everyone', body: 'standup at ten' })
  const m4 = m('msg_parity_4', { toAgent: 'tester', subject: 'Later', timestamp: at(0) })
  const m5 = m('msg_parity_5', {
    subject: 'Short lived',
    routing: { conversationId: 'conv_short', ttlHours: 0.01 },
  })
  const m6 = m('msg_parity_6', {
    toAgent: 'tester',
    subject: 'With data',
    payload: { type: 'task_assignment', data: { n: 1, list: ['a', 'b'] } },
    metadata: { trace: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } },
    routing: { conversationId: m1.routing.conversationId, replyTo: m1.id, ttlHours: 24 },
  })
  await both(m1)
  await both(m2)
  await both(m3, { recipients: ['builder', 'tester'] })
  await both(m4, { delaySeconds: 60 })
  await both(m5, { maxAttempts: 1 })
  await both(m6, { maxAttempts: 1 })

  clock.advance(1000)
  const [first, second] = await claimBoth('builder', 2, 30)
  await spool.ack(first!.id, 'builder', { receipt: first!.sqlite })
  await store.ack({ messageId: first!.id, recipient: 'builder', receipt: first!.pg, now: clock.now() })
  clock.advance(500)
  await spool.nack(second!.id, 'builder', { receipt: second!.sqlite, reason: 'not now' })
  await store.release({
    messageId: second!.id,
    recipient: 'builder',
    receipt: second!.pg,
    now: clock.now(),
    reason: 'not now',
    deadLetter: false,
    handBack: false,
    availableAt: () => clock.now(),
  })
  await claimBoth('tester', 1, 10)
  clock.advance(45_000) // the tester's lease runs out; m5 (36 s TTL) expires
  await claimBoth('tester', 5, 10)
  clock.advance(20_000) // m6's lease runs out on its only attempt: swept to failed
  await store.sweepExhaustedLeases({ now: clock.now() })

  const held = m('msg_parity_7', { toAgent: 'capability:review', subject: 'Review please' })
  await spool.hold(held)
  await store.holdMessage({
    send: {
      message: held,
      recipients: [],
      availableAt: clock.now(),
      maxAttempts: 3,
      expiresAt: expiresAt(held),
    },
    heldUntil: expiresAt(held),
    now: clock.now(),
  })
  expect(
    await store.releaseHeld({
      agentId: 'late',
      capabilities: ['review'],
      now: clock.now(),
      defaultMaxAttempts: 3,
    }),
  ).toBe((await spool.releaseHeld('late', ['review'])).released)

  // A payload damaged by hand on both.
  sqliteConnectionOf(spool).prepare(`UPDATE messages SET payload = '{broken' WHERE id = ?`).run(m6.id)
  await db.client().query(`UPDATE agent_comm.messages SET payload = '{broken' WHERE id = $1`, [m6.id])

  const now = clock.now()
  for (const message of [m1, m2, m3, m4, m5, m6, held]) {
    expect(await store.status({ messageId: message.id, now }), message.id).toEqual(
      await spool.status(message.id),
    )
  }
  for (const agent of ['builder', 'tester', 'late']) {
    expect(await store.pending({ recipient: agent, limit: 50, now }), agent).toEqual(
      await spool.pending(agent),
    )
  }
  const failed = await spool.listFailed()
  expect(failed.map((f) => [f.message.id, f.unreadable])).toEqual([
    [m6.id, [{ column: 'payload', reason: 'is not valid JSON' }]],
  ])
  expect(await store.listFailed({ limit: 100, now })).toEqual(failed)
  expect(await store.listFailed({ agent: 'tester', limit: 100, now })).toEqual(
    await spool.listFailed({ agent: 'tester' }),
  )
  expect(await store.stats({ now })).toEqual(await spool.stats())
  expect(await store.conversations({ limit: 50 })).toEqual(await spool.conversations())
  expect(await store.conversations({ limit: 50, agent: 'tester' })).toEqual(
    await spool.conversations({ agent: 'tester' }),
  )
  expect(await store.conversation({ conversationId: m1.routing.conversationId })).toEqual(
    await spool.conversation(m1.routing.conversationId),
  )
  for (const text of ['task', 'jw', 'standup ten', 'nothing']) {
    expect(await store.search({ text, limit: 50 }), text).toEqual(await spool.search({ text }))
  }
  expect(await store.search({ to: 'tester', limit: 50 })).toEqual(await spool.search({ to: 'tester' }))
  expect(await store.cleanup({ dryRun: true, ackedOlderThanMs: 1000, now })).toEqual(
    await spool.cleanup({ dryRun: true, ackedOlderThanMs: 1000 }),
  )
  expect(await store.cleanup({ dryRun: false, now })).toEqual(await spool.cleanup({ dryRun: false }))
  const ackedGone = await spool.cleanup({ dryRun: false, ackedOlderThanMs: 0 })
  expect(ackedGone.ackedMessages).toBe(1)
  expect(await store.cleanup({ dryRun: false, ackedOlderThanMs: 0, now })).toEqual(ackedGone)
  expect(await store.status({ messageId: first!.id, now })).toBeUndefined()
  expect(await store.stats({ now })).toEqual(await spool.stats())
})
