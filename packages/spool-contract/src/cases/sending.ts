import { createMessage } from '@agent-comm/protocol'
import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** Sending: what is stored, duplicates, recipients and broadcast fan-out, batches, invalid input. */
export function sendingCases(ctx: SpoolContractContext): void {
  it('refuses a malformed metadata.trace with VALIDATION naming the field, and keeps a valid one as sent', async () => {
    const { spool } = await ctx.open()
    const good = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    for (const trace of [
      { traceparent: 'garbage' },
      good,
      { traceparent: good, tracestate: 'a'.repeat(600) },
    ]) {
      await expect(spool.send(task('x', { metadata: { trace } }))).rejects.toMatchObject({
        code: 'VALIDATION',
        message: expect.stringContaining('metadata.trace'),
      })
    }
    expect((await spool.stats()).totalMessages).toBe(0)
    const sent = await spool.send(
      task('x', { metadata: { trace: { traceparent: good, tracestate: 'v=1' } } }),
    )
    expect(sent.message.metadata).toEqual({ trace: { traceparent: good, tracestate: 'v=1' } })
  })

  it('stores the message exactly as sent and returns it from a claim', async () => {
    const { spool } = await ctx.open()
    const message = createMessage({
      ...task(),
      priority: 'high',
      payload: { type: 'task_assignment', data: { feature: 'auth', files: ['a.ts'] } },
      metadata: { ticket: 42 },
      routing: { conversationId: 'conv_1', replyTo: 'msg_0', ttlHours: 2 },
    })
    await spool.send(message)
    const [claimed] = await spool.claim('builder')
    expect(claimed?.message).toEqual(message)
  })

  it('treats sending the same id twice as idempotent and reports the duplicate', async () => {
    const { spool } = await ctx.open()
    const message = createMessage(task())
    expect(await spool.send(message)).toMatchObject({ duplicate: false, deliveries: 1 })
    expect(await spool.send(message)).toMatchObject({ duplicate: true, deliveries: 0 })
    expect(await spool.claim('builder', { limit: 10 })).toHaveLength(1)
    expect((await spool.stats()).totalMessages).toBe(1)
  })

  it("refuses an id already used by another sender's message instead of reporting it as a duplicate", async () => {
    const { spool } = await ctx.open()
    const original = createMessage(task())
    await spool.send(original)
    const impostor = { ...original, fromAgent: 'reviewer', body: 'a different message' }
    await expect(spool.send(impostor)).rejects.toMatchObject({
      code: 'CONFLICT',
      hint: expect.stringContaining('new id'),
    })
    await expect(spool.sendBatch([{ message: impostor }])).rejects.toMatchObject({ code: 'CONFLICT' })
    expect((await spool.status(original.id)).message).toEqual(original)
    // The original sender's retry is still an idempotent duplicate.
    expect(await spool.send(original)).toMatchObject({ duplicate: true, deliveries: 0 })
  })

  it('refuses recipients that would send a direct message to anyone but its address', async () => {
    const { spool } = await ctx.open()
    for (const recipients of [['reviewer'], ['builder', 'reviewer'], []]) {
      await expect(spool.send(task(), { recipients })).rejects.toMatchObject({
        code: 'VALIDATION',
        issues: [expect.objectContaining({ path: 'recipients' })],
      })
    }
    await expect(
      spool.sendBatch([{ message: task(), options: { recipients: ['reviewer'] } }]),
    ).rejects.toMatchObject({ code: 'VALIDATION' })
    expect((await spool.stats()).totalMessages).toBe(0)
    // The address itself is what a router passes: still accepted.
    expect(await spool.send(task(), { recipients: ['builder', 'builder'] })).toMatchObject({ deliveries: 1 })
  })

  it('fans a broadcast out to one delivery per recipient', async () => {
    const { spool } = await ctx.open()
    const sent = await spool.send(
      { fromAgent: 'ops', toAgent: '*', body: 'deploy at noon', payload: { type: 'broadcast', data: null } },
      { recipients: ['builder', 'reviewer', 'builder', 'tester'] },
    )
    expect(sent).toMatchObject({ deliveries: 3, recipients: ['builder', 'reviewer', 'tester'] })
    for (const agent of ['builder', 'reviewer', 'tester']) {
      const [claimed] = await spool.claim(agent)
      expect(claimed?.message.id).toBe(sent.messageId)
    }
    const { deliveries } = await spool.status(sent.messageId)
    expect(deliveries.map((d) => d.recipient)).toEqual(['builder', 'reviewer', 'tester'])
  })

  it('keeps each recipient’s delivery of a broadcast apart: one ack leaves the others queued', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(
      { fromAgent: 'ops', toAgent: 'capability:review', body: 'review this' },
      { recipients: ['alice', 'bob'] },
    )
    const [claimed] = await spool.claim('alice')
    await spool.ack(messageId, 'alice', { receipt: claimed!.lease.receipt })
    const { deliveries } = await spool.status(messageId)
    expect(deliveries.map((d) => [d.recipient, d.status])).toEqual([
      ['alice', 'acked'],
      ['bob', 'queued'],
    ])
    expect((await spool.claim('bob')).map((c) => c.message.id)).toEqual([messageId])
  })

  it('refuses a group address without recipients, saying who resolves them', async () => {
    const { spool } = await ctx.open()
    await expect(spool.send({ fromAgent: 'ops', toAgent: '*', body: 'x' })).rejects.toThrow(
      /pass the recipients/,
    )
    await expect(
      spool.send({ fromAgent: 'ops', toAgent: 'capability:review', body: 'x' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })

  it('rejects invalid messages and options with messages that name the field', async () => {
    const { spool } = await ctx.open()
    await expect(spool.send({ ...task(), toAgent: '../etc' })).rejects.toThrow(/toAgent/)
    await expect(spool.send({ ...task(), priority: 'asap' as 'high' })).rejects.toThrow(
      /must be one of critical, high, normal, low/,
    )
    await expect(spool.send(task(), { delaySeconds: -1 })).rejects.toThrow(
      /delaySeconds: must not be negative/,
    )
    await expect(spool.send(task(), { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/)
    expect((await spool.stats()).totalMessages).toBe(0)
  })

  it('stores a batch atomically: one bad message and none is stored', async () => {
    const { spool } = await ctx.open()
    await expect(
      spool.sendBatch([{ message: task('ok') }, { message: { ...task(), fromAgent: '' } }]),
    ).rejects.toThrow(/Batch item 1/)
    expect((await spool.stats()).totalMessages).toBe(0)
    const results = await spool.sendBatch([{ message: task('a') }, { message: task('b') }])
    expect(results.map((r) => r.deliveries)).toEqual([1, 1])
  })

  it('stores every message of a batch written in chunks, and validates all of them before the first', async () => {
    const { spool } = await ctx.open()
    const broadcast = () => ({
      message: createMessage({ fromAgent: 'ops', toAgent: '*', body: 'b' }),
      options: { recipients: ['builder', 'reviewer', 'tester'] },
    })
    const items = Array.from({ length: 40 }, broadcast)
    const invalid = [...items, { message: task(), options: { recipients: ['reviewer'] } }]
    await expect(spool.sendBatch(invalid, { chunkDeliveries: 10 })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    expect((await spool.stats()).totalMessages).toBe(0)
    const results = await spool.sendBatch(items, { chunkDeliveries: 10 })
    expect(results.map((r) => r.deliveries)).toEqual(items.map(() => 3))
    expect(await spool.stats()).toMatchObject({ totalMessages: 40, deliveries: { queued: 120 } })
    // A retry of the whole batch (as after a failure midway) reports every message as a duplicate.
    const again = await spool.sendBatch(items, { chunkDeliveries: 10 })
    expect(again.every((r) => r.duplicate && r.deliveries === 0)).toBe(true)
  })
}
