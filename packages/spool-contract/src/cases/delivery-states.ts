import type { AgentCommError } from '@agent-comm/protocol'
import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** The delivery state machine: queued → leased → acked, and nack back to queued. */
export function deliveryStateCases(ctx: SpoolContractContext): void {
  it('queues a sent message, leases it on claim and acks it', async () => {
    const { spool } = await ctx.open()
    const sent = await spool.send(task())
    expect(sent).toMatchObject({ duplicate: false, deliveries: 1, recipients: ['builder'] })
    expect((await spool.status(sent.messageId)).deliveries[0]).toMatchObject({ status: 'queued', attempt: 0 })

    const [claimed] = await spool.claim('builder')
    expect(claimed?.message.id).toBe(sent.messageId)
    expect(claimed?.lease).toMatchObject({ recipient: 'builder', attempt: 1, maxAttempts: 3 })
    expect((await spool.status(sent.messageId)).deliveries[0]).toMatchObject({ status: 'leased', attempt: 1 })

    const ack = await spool.ack(sent.messageId, 'builder', { receipt: claimed!.lease.receipt })
    expect(ack).toEqual({
      messageId: sent.messageId,
      recipient: 'builder',
      status: 'acked',
      alreadyAcked: false,
    })
    const delivery = (await spool.status(sent.messageId)).deliveries[0]
    expect(delivery).toMatchObject({ status: 'acked', leaseUntil: null })
    expect(delivery?.ackedAt).not.toBeNull()
    expect(await spool.claim('builder')).toEqual([])
  })

  it('treats a second ack as a harmless no-op that says so', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    await spool.claim('builder')
    await spool.ack(messageId, 'builder')
    expect(await spool.ack(messageId, 'builder')).toMatchObject({ alreadyAcked: true, status: 'acked' })
  })

  it('answers an ack, nack or extend of an unknown message and of one not sent to that agent alike', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    const refusal = async (id: string, op: 'ack' | 'nack' | 'extendLease') => {
      const error = (await spool[op](id, 'reviewer').catch((e: unknown) => e)) as AgentCommError
      return {
        code: error.code,
        message: error.message.replace(id, 'ID'),
        hint: error.hint?.replace(id, 'ID'),
      }
    }
    for (const op of ['ack', 'nack', 'extendLease'] as const) {
      const notYours = await refusal(messageId, op)
      expect(notYours.code).toBe('DELIVERY_NOT_FOUND')
      expect(await refusal('msg_01JD3Q8Z7X0000000000000000', op)).toEqual(notYours)
    }
  })

  it('rejects an ack of a message that was never claimed', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    await expect(spool.ack(messageId, 'builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
  })

  it('requeues a nacked message with its reason, visible again at once by default', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    await spool.claim('builder')
    const nack = await spool.nack(messageId, 'builder', { reason: 'network down' })
    expect(nack).toMatchObject({ status: 'queued', attempt: 1, maxAttempts: 3 })
    const [again] = await spool.claim('builder')
    expect(again?.lease.attempt).toBe(2)
    expect((await spool.status(messageId)).deliveries[0]?.lastError).toBe('network down')
  })

  it('keeps a nacked message invisible for the requested delay', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task())
    await spool.claim('builder')
    await spool.nack(messageId, 'builder', { reason: 'busy', delaySeconds: 10 })
    expect(await spool.claim('builder')).toEqual([])
    clock.advance(10_000)
    expect(await spool.claim('builder')).toHaveLength(1)
  })

  it('applies the configured retry backoff when a nack names no delay', async () => {
    const { spool, clock } = await ctx.open({ retryDelaySeconds: (attempt) => 2 ** attempt })
    const { messageId } = await spool.send(task())
    await spool.claim('builder')
    await spool.nack(messageId, 'builder')
    clock.advance(1_999)
    expect(await spool.claim('builder')).toEqual([])
    clock.advance(1)
    expect(await spool.claim('builder')).toHaveLength(1)
  })

  it('rejects a nack of an acked message and leaves it acked', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    await spool.claim('builder')
    await spool.ack(messageId, 'builder')
    await expect(spool.nack(messageId, 'builder', { reason: 'oops' })).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringContaining('already acked'),
    })
    expect((await spool.status(messageId)).deliveries[0]?.status).toBe('acked')
    expect(await spool.claim('builder')).toEqual([])
  })

  it('rejects a nack of a message that is not leased', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    await expect(spool.nack(messageId, 'builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    expect((await spool.status(messageId)).deliveries[0]).toMatchObject({ status: 'queued', attempt: 0 })
  })

  it('acks a batch in one transaction', async () => {
    const { spool } = await ctx.open()
    await spool.sendBatch(Array.from({ length: 5 }, (_, i) => ({ message: task(`m${i}`) })))
    const claimed = await spool.claim('builder', { limit: 5 })
    const acks = await spool.ackBatch(
      claimed.map((c) => ({ messageId: c.message.id, agent: 'builder', receipt: c.lease.receipt })),
    )
    expect(acks.every((a) => a.status === 'acked' && !a.alreadyAcked)).toBe(true)
    expect((await spool.stats()).deliveries.acked).toBe(5)
  })
}
