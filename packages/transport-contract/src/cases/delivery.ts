import { expect, it } from 'vitest'
import type { ContractContext } from '../context.js'

const isoTime = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/)

/** The delivery state machine: queued → leased → acked, nack back to queued, failed when out of attempts. */
export function deliveryCases(ctx: ContractContext): void {
  it('queues a sent message, leases it on claim and acks it', async () => {
    const t = ctx.transport
    const message = ctx.message()
    const sent = await t.send(message)
    expect(sent).toMatchObject({
      messageId: message.id,
      duplicate: false,
      deliveries: 1,
      recipients: ['builder'],
    })
    expect((await t.status(message.id)).deliveries).toEqual([
      expect.objectContaining({ recipient: 'builder', status: 'queued', attempt: 0, maxAttempts: 3 }),
    ])

    const [claimed, ...rest] = await t.claim('builder')
    expect(rest).toEqual([])
    expect(claimed?.message).toEqual(sent.message)
    expect(claimed?.lease).toMatchObject({ recipient: 'builder', attempt: 1, maxAttempts: 3 })
    expect(claimed?.lease.receipt).toEqual(expect.any(String))
    expect((await t.status(message.id)).deliveries[0]).toMatchObject({ status: 'leased', attempt: 1 })

    const ack = await t.ack(message.id, 'builder', { receipt: claimed!.lease.receipt })
    expect(ack).toEqual({ messageId: message.id, recipient: 'builder', status: 'acked', alreadyAcked: false })
    const delivery = (await t.status(message.id)).deliveries[0]
    expect(delivery).toMatchObject({ status: 'acked', attempt: 1, leaseUntil: null, ackedAt: isoTime })
    expect(await t.claim('builder')).toEqual([])
  })

  it('treats a second ack as a harmless no-op that says so', async () => {
    const t = ctx.transport
    const { messageId, receipt } = await ctx.sendAndClaim()
    await t.ack(messageId, 'builder', { receipt })
    expect(await t.ack(messageId, 'builder', { receipt })).toMatchObject({
      status: 'acked',
      alreadyAcked: true,
    })
    expect(await t.ack(messageId, 'builder')).toMatchObject({ status: 'acked', alreadyAcked: true })
  })

  it('rejects an ack of an unknown message, or of a message not sent to that agent', async () => {
    const t = ctx.transport
    // One answer for both, so an agent cannot probe which message ids exist between others.
    await expect(t.ack('msg_nope', 'builder')).rejects.toMatchObject({ code: 'DELIVERY_NOT_FOUND' })
    const { messageId } = await ctx.send()
    await expect(t.ack(messageId, 'reviewer')).rejects.toMatchObject({ code: 'DELIVERY_NOT_FOUND' })
    await expect(t.nack(messageId, 'reviewer')).rejects.toMatchObject({ code: 'DELIVERY_NOT_FOUND' })
  })

  it('rejects an ack of a message that was never claimed', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    await expect(t.ack(messageId, 'builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({ status: 'queued', attempt: 0 })
  })

  it('requeues a nacked message with its reason, visible again at once', async () => {
    const t = ctx.transport
    const { messageId, receipt } = await ctx.sendAndClaim()
    const nack = await t.nack(messageId, 'builder', { reason: 'network down', receipt })
    expect(nack).toMatchObject({
      messageId,
      recipient: 'builder',
      status: 'queued',
      attempt: 1,
      maxAttempts: 3,
    })
    expect(Date.parse(nack.availableAt!)).toBe(ctx.clock.now())
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({
      status: 'queued',
      attempt: 1,
      lastError: 'network down',
    })
    const [again] = await t.claim('builder')
    expect(again?.message.id).toBe(messageId)
    expect(again?.lease.attempt).toBe(2)
  })

  it('keeps a nacked message invisible for the requested delay', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    await t.claim('builder')
    const nack = await t.nack(messageId, 'builder', { reason: 'busy', delaySeconds: 10 })
    expect(Date.parse(nack.availableAt!)).toBe(ctx.clock.now() + 10_000)
    expect(await t.claim('builder')).toEqual([])
    ctx.clock.advance(9_999)
    expect(await t.claim('builder')).toEqual([])
    ctx.clock.advance(1)
    expect((await t.claim('builder')).map((c) => c.message.id)).toEqual([messageId])
  })

  it('dead-letters after maxAttempts, keeping the last error', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    for (const attempt of [1, 2]) {
      const [claimed] = await t.claim('builder')
      expect(claimed?.lease.attempt).toBe(attempt)
      expect(await t.nack(messageId, 'builder', { reason: `failure ${attempt}` })).toMatchObject({
        status: 'queued',
        attempt,
      })
    }
    const [last] = await t.claim('builder')
    expect(last?.lease).toMatchObject({ attempt: 3, maxAttempts: 3 })
    const nack = await t.nack(messageId, 'builder', { reason: 'failure 3', receipt: last!.lease.receipt })
    expect(nack).toMatchObject({ status: 'failed', attempt: 3, maxAttempts: 3 })
    expect(await t.claim('builder')).toEqual([])
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({
      status: 'failed',
      attempt: 3,
      leaseUntil: null,
      lastError: 'failure 3',
    })
  })

  it('honours the maxAttempts of a send', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send({}, { maxAttempts: 1 })
    const [claimed] = await t.claim('builder')
    expect(claimed?.lease).toMatchObject({ attempt: 1, maxAttempts: 1 })
    expect(await t.nack(messageId, 'builder', { reason: 'boom' })).toMatchObject({ status: 'failed' })
    expect(await t.claim('builder')).toEqual([])
  })

  it('dead-letters at once when a nack says a retry cannot help', async () => {
    const t = ctx.transport
    const { messageId, receipt } = await ctx.sendAndClaim()
    const nack = await t.nack(messageId, 'builder', { reason: 'malformed task', receipt, deadLetter: true })
    expect(nack).toMatchObject({ status: 'failed', attempt: 1, maxAttempts: 3 })
    expect(await t.claim('builder')).toEqual([])
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({
      status: 'failed',
      attempt: 1,
      lastError: 'malformed task',
    })
  })

  it('rejects a nack of an acked message and leaves it acked', async () => {
    const t = ctx.transport
    const { messageId, receipt } = await ctx.sendAndClaim()
    await t.ack(messageId, 'builder', { receipt })
    await expect(t.nack(messageId, 'builder', { reason: 'oops' })).rejects.toMatchObject({
      code: 'INVALID_STATE',
    })
    await expect(t.nack(messageId, 'builder', { reason: 'oops', receipt })).rejects.toMatchObject({
      code: 'INVALID_STATE',
    })
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({ status: 'acked', lastError: null })
    expect(await t.claim('builder')).toEqual([])
  })

  it('rejects a nack of a message that is not leased', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    await expect(t.nack(messageId, 'builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({ status: 'queued', attempt: 0 })
    expect(await t.claim('builder')).toHaveLength(1)
  })
}
