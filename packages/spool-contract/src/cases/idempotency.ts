import { createMessage } from '@agent-comm/protocol'
import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** Idempotency keys and per-sender message ids: at most one enqueue per sender and key within the window. */
export function idempotencyCases(ctx: SpoolContractContext): void {
  it('reports a second send with the same key as a duplicate of the first, whatever its id', async () => {
    const { spool } = await ctx.open()
    const first = await spool.send(task(), { idempotencyKey: 'order-42' })
    expect(first).toMatchObject({ duplicate: false, deliveries: 1 })
    // The same request rebuilt: a new id and a new conversation id, the same content.
    const retry = await spool.send(createMessage(task()), { idempotencyKey: 'order-42' })
    expect(retry).toMatchObject({ messageId: first.messageId, duplicate: true, deliveries: 0 })
    expect(retry.message).toEqual(first.message)
    expect(await spool.claim('builder', { limit: 10 })).toHaveLength(1)
    expect((await spool.stats()).totalMessages).toBe(1)
  })

  it('refuses a keyed send with other content than the first with CONFLICT naming the key, and keeps the first', async () => {
    const { spool } = await ctx.open()
    const first = await spool.send(task('May I deploy v2 to staging?'), { idempotencyKey: 'ask-1' })
    const others = [
      task('May I DROP the production database?'),
      task('May I deploy v2 to staging?', { subject: 'Other' }),
      task('May I deploy v2 to staging?', { priority: 'high' }),
      task('May I deploy v2 to staging?', { toAgent: 'reviewer' }),
      task('May I deploy v2 to staging?', { payload: { type: 'task_assignment', data: { task: 'x' } } }),
      task('May I deploy v2 to staging?', { routing: { replyTo: first.messageId } }),
    ]
    for (const other of others) {
      await expect(spool.send(other, { idempotencyKey: 'ask-1' })).rejects.toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining("Idempotency key 'ask-1'"),
        hint: expect.stringContaining('new idempotency key'),
        details: { idempotencyKey: 'ask-1', originalId: first.messageId },
      })
    }
    const kept = await spool.claim('builder', { limit: 10 })
    expect(kept.map((c) => c.message.body)).toEqual(['May I deploy v2 to staging?'])
    expect((await spool.stats()).totalMessages).toBe(1)
  })

  it('keeps keys apart per sender: the same key from another sender is a new message', async () => {
    const { spool } = await ctx.open()
    const a = await spool.send(task(), { idempotencyKey: 'k' })
    const b = await spool.send({ ...task(), fromAgent: 'reviewer' }, { idempotencyKey: 'k' })
    expect(b).toMatchObject({ duplicate: false, deliveries: 1 })
    expect(b.messageId).not.toBe(a.messageId)
    expect(await spool.claim('builder', { limit: 10 })).toHaveLength(2)
  })

  it('frees a key once its window is over', async () => {
    const { spool, clock } = await ctx.open({ idempotencyWindowMs: 60_000 })
    const first = await spool.send(task(), { idempotencyKey: 'k' })
    clock.advance(59_999)
    expect(await spool.send(task(), { idempotencyKey: 'k' })).toMatchObject({
      messageId: first.messageId,
      duplicate: true,
    })
    clock.advance(1)
    const later = await spool.send(task(), { idempotencyKey: 'k' })
    expect(later).toMatchObject({ duplicate: false, deliveries: 1 })
    expect(later.messageId).not.toBe(first.messageId)
    // The key now belongs to the later message, for a window of its own.
    expect(await spool.send(task(), { idempotencyKey: 'k' })).toMatchObject({ messageId: later.messageId })
  })

  it('defaults the window to 24 hours', async () => {
    const { spool, clock } = await ctx.open()
    const first = await spool.send(task(), { idempotencyKey: 'k' })
    clock.advance(24 * 3_600_000 - 1)
    expect(await spool.send(task(), { idempotencyKey: 'k' })).toMatchObject({ messageId: first.messageId })
    clock.advance(1)
    expect(await spool.send(task(), { idempotencyKey: 'k' })).toMatchObject({ duplicate: false })
  })

  it('applies keys inside a batch, and to a batch retried whole', async () => {
    const { spool } = await ctx.open()
    const items = [
      { message: task(), options: { idempotencyKey: 'a' } },
      { message: task(), options: { idempotencyKey: 'a' } },
      { message: task(), options: { idempotencyKey: 'b' } },
    ]
    const results = await spool.sendBatch(items)
    expect(results.map((r) => r.duplicate)).toEqual([false, true, false])
    expect(results[1]!.messageId).toBe(results[0]!.messageId)
    const again = await spool.sendBatch(items.map((i) => ({ ...i, message: task() })))
    expect(again.map((r) => r.messageId)).toEqual(results.map((r) => r.messageId))
    expect(again.every((r) => r.duplicate && r.deliveries === 0)).toBe(true)
    expect(await spool.claim('builder', { limit: 10 })).toHaveLength(2)
  })

  it('lets a key win over another sender’s id: the keyed retry never reaches the id check', async () => {
    const { spool } = await ctx.open()
    const first = await spool.send(task(), { idempotencyKey: 'k' })
    const taken = await spool.send({ ...task(), fromAgent: 'mallory', toAgent: 'boss' })
    // A retry of the keyed send under an id another sender now holds is still its own duplicate.
    const retry = await spool.send(createMessage({ ...task(), id: taken.messageId }), { idempotencyKey: 'k' })
    expect(retry).toMatchObject({ messageId: first.messageId, duplicate: true })
  })

  it('refuses another sender’s id with CONFLICT and writes nothing, key included', async () => {
    const { spool } = await ctx.open()
    const original = await spool.send(task())
    const impostor = createMessage({ ...task(), id: original.messageId, fromAgent: 'mallory' })
    await expect(spool.send(impostor, { idempotencyKey: 'm' })).rejects.toMatchObject({ code: 'CONFLICT' })
    // The refused send took no key: the same key with a fresh id goes through.
    const fresh = await spool.send({ ...task(), fromAgent: 'mallory' }, { idempotencyKey: 'm' })
    expect(fresh).toMatchObject({ duplicate: false, deliveries: 1 })
  })

  it('refuses another sender’s id with CONFLICT even when both sends carry the same key', async () => {
    const { spool } = await ctx.open()
    const theirs = await spool.send({ ...task(), fromAgent: 'mallory' }, { idempotencyKey: 'k' })
    const mine = createMessage({ ...task(), id: theirs.messageId })
    // Keys are per sender: mallory's key is no duplicate of architect's send, and the id stays mallory's.
    await expect(spool.send(mine, { idempotencyKey: 'k' })).rejects.toMatchObject({ code: 'CONFLICT' })
    const fresh = await spool.send(task(), { idempotencyKey: 'k' })
    expect(fresh).toMatchObject({ duplicate: false, deliveries: 1 })
    expect(fresh.messageId).not.toBe(theirs.messageId)
  })

  it('keeps a key through a cleanup that removes its message, until its window is over', async () => {
    const { spool, clock } = await ctx.open()
    const first = await spool.send(task('short-lived', { routing: { ttlHours: 1 } }), {
      idempotencyKey: 'k',
    })
    await spool.send(task('unkeyed', { routing: { ttlHours: 1 } }))
    clock.advance(2 * 3_600_000)
    expect(await spool.cleanup()).toMatchObject({ expiredMessages: 2 })
    expect((await spool.stats()).totalMessages).toBe(0)
    // The message is gone, its key still holds: the retry is its duplicate and stores nothing (with no
    // message left to compare it with, whatever its content).
    const retry = await spool.send(task('retried'), { idempotencyKey: 'k' })
    expect(retry).toMatchObject({ messageId: first.messageId, duplicate: true, deliveries: 0 })
    expect((await spool.stats()).totalMessages).toBe(0)
    await spool.cleanup()
    expect(await spool.send(task(), { idempotencyKey: 'k' })).toMatchObject({ messageId: first.messageId })
    clock.advance(22 * 3_600_000)
    await spool.cleanup()
    const later = await spool.send(task('after the window'), { idempotencyKey: 'k' })
    expect(later).toMatchObject({ duplicate: false, deliveries: 1 })
    expect(await spool.send(task('after the window'), { idempotencyKey: 'k' })).toMatchObject({
      messageId: later.messageId,
    })
  })

  it('finds a key another spool on the same storage kept aside, and still takes new keys', async () => {
    const { spool, clock, openAnother } = await ctx.open()
    const other = await openAnother()
    // This spool sends keyed messages while no key is kept aside (the SQLite store has a faster insert then).
    await spool.send(task('before'), { idempotencyKey: 'before' })
    const first = await spool.send(task('short-lived', { routing: { ttlHours: 1 } }), { idempotencyKey: 'k' })
    clock.advance(2 * 3_600_000)
    // The other spool's cleanup removes the message and keeps its key aside.
    expect(await other.cleanup()).toMatchObject({ expiredMessages: 1 })
    const retry = await spool.send(task('retried'), { idempotencyKey: 'k' })
    expect(retry).toMatchObject({ messageId: first.messageId, duplicate: true, deliveries: 0 })
    // With a key kept aside, new keys and live keys on messages still hold as before.
    const fresh = await spool.send(task('new'), { idempotencyKey: 'new' })
    expect(fresh).toMatchObject({ duplicate: false, deliveries: 1 })
    expect(await spool.send(task('new'), { idempotencyKey: 'new' })).toMatchObject({
      messageId: fresh.messageId,
      duplicate: true,
    })
    expect(await spool.send(task('before'), { idempotencyKey: 'before' })).toMatchObject({ duplicate: true })
    expect((await spool.stats()).totalMessages).toBe(2)
  })

  it('gives a new key on a resent id to the sender’s stored message', async () => {
    const { spool, clock } = await ctx.open({ idempotencyWindowMs: 60_000 })
    const message = createMessage(task())
    await spool.send(message, { idempotencyKey: 'first' })
    // The same message again under another key: a duplicate by id, and the new key now names it too.
    expect(await spool.send(message, { idempotencyKey: 'second' })).toMatchObject({
      messageId: message.id,
      duplicate: true,
    })
    for (const idempotencyKey of ['first', 'second']) {
      expect(await spool.send(task(), { idempotencyKey })).toMatchObject({
        messageId: message.id,
        duplicate: true,
      })
    }
    // Past the window, the same message under its old key: still a duplicate by id, with the key renewed.
    clock.advance(60_000)
    expect(await spool.send(message, { idempotencyKey: 'first' })).toMatchObject({
      messageId: message.id,
      duplicate: true,
    })
    expect(await spool.send(task(), { idempotencyKey: 'first' })).toMatchObject({ messageId: message.id })
    const other = await spool.send(task(), { idempotencyKey: 'second' })
    expect(other).toMatchObject({ duplicate: false, deliveries: 1 })
    expect((await spool.stats()).totalMessages).toBe(2)
  })

  it('refuses the same sender re-sending an id with other content with CONFLICT', async () => {
    const { spool } = await ctx.open()
    const message = createMessage(task())
    await spool.send(message)
    await expect(spool.send({ ...message, body: 'changed' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('other content'),
    })
    await expect(spool.sendBatch([{ message: { ...message, subject: 'changed' } }])).rejects.toMatchObject({
      code: 'CONFLICT',
    })
    // Metadata (trace context) may differ on a retry: still the same message.
    expect(await spool.send({ ...message, metadata: { traceparent: 'x' } })).toMatchObject({
      duplicate: true,
    })
    expect((await spool.status(message.id)).message).toEqual(message)
  })

  it('refuses an invalid key', async () => {
    const { spool } = await ctx.open()
    for (const idempotencyKey of ['', 'has space', 'x'.repeat(201)]) {
      await expect(spool.send(task(), { idempotencyKey })).rejects.toMatchObject({ code: 'VALIDATION' })
    }
  })

  it('keeps a key across spools on the same storage', async () => {
    const { spool, openAnother } = await ctx.open()
    const other = await openAnother()
    const first = await spool.send(task(), { idempotencyKey: 'shared' })
    expect(await other.send(task(), { idempotencyKey: 'shared' })).toMatchObject({
      messageId: first.messageId,
      duplicate: true,
    })
  })
}
