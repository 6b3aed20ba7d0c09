import { expect, it } from 'vitest'
import type { ContractContext } from '../context.js'

/** Leases: how long they last, what happens when they run out, and what a receipt proves. */
export function leaseCases(ctx: ContractContext): void {
  it('leases for the requested time and hands each claim a fresh receipt', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    const [first] = await t.claim('builder', { leaseSeconds: 30 })
    expect(Date.parse(first!.lease.leaseUntil)).toBe(ctx.clock.now() + 30_000)
    const leased = (await t.status(messageId)).deliveries[0]
    expect(leased).toMatchObject({ status: 'leased', availableAt: null })
    expect(Date.parse(leased!.leaseUntil!)).toBe(ctx.clock.now() + 30_000)
    ctx.clock.advance(30_000)
    const [second] = await t.claim('builder', { leaseSeconds: 30 })
    expect(second?.lease.attempt).toBe(2)
    expect(second?.lease.receipt).not.toBe(first?.lease.receipt)
  })

  it('redelivers a message whose lease expired', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    await t.claim('builder', { leaseSeconds: 60 })
    ctx.clock.advance(59_999)
    expect(await t.claim('builder')).toEqual([])
    ctx.clock.advance(1)
    const [again] = await t.claim('builder')
    expect(again?.message.id).toBe(messageId)
    expect(again?.lease.attempt).toBe(2)
    expect((await t.status(messageId)).deliveries[0]?.lastError).toEqual(expect.any(String))
  })

  it('rejects an ack with a stale receipt after the message was re-claimed', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    const [slow] = await t.claim('builder', { leaseSeconds: 5 })
    ctx.clock.advance(6_000)
    const [fast] = await t.claim('builder', { leaseSeconds: 5 })
    const stale = { receipt: slow!.lease.receipt }
    await expect(t.ack(messageId, 'builder', stale)).rejects.toMatchObject({ code: 'LEASE_LOST' })
    await expect(t.nack(messageId, 'builder', stale)).rejects.toMatchObject({ code: 'LEASE_LOST' })
    await expect(t.extendLease(messageId, 'builder', stale)).rejects.toMatchObject({ code: 'LEASE_LOST' })
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({ status: 'leased', attempt: 2 })
    expect(await t.ack(messageId, 'builder', { receipt: fast!.lease.receipt })).toMatchObject({
      alreadyAcked: false,
    })
  })

  it('rejects a stale receipt after a nack put the message back in the queue', async () => {
    const t = ctx.transport
    const { messageId, receipt } = await ctx.sendAndClaim()
    await t.nack(messageId, 'builder', { receipt, reason: 'retry' })
    await expect(t.ack(messageId, 'builder', { receipt })).rejects.toMatchObject({
      code: 'LEASE_LOST',
    })
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({ status: 'queued' })
  })

  it('takes a message handed back unseen with its attempt given back, visible again at once', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send({}, { maxAttempts: 1 })
    for (let round = 0; round < 3; round++) {
      const [claimed] = await t.claim('builder')
      expect(claimed?.lease.attempt).toBe(1)
      expect(
        await t.nack(messageId, 'builder', { receipt: claimed!.lease.receipt, handBack: true }),
      ).toMatchObject({ status: 'queued', attempt: 0 })
    }
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({ status: 'queued', attempt: 0 })
    const [last] = await t.claim('builder')
    expect(await t.nack(messageId, 'builder', { receipt: last!.lease.receipt })).toMatchObject({
      status: 'failed',
    })
  })

  it('accepts a late ack when nobody re-claimed the message', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    const [claimed] = await t.claim('builder', { leaseSeconds: 5 })
    ctx.clock.advance(10_000)
    expect(await t.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })).toMatchObject({
      status: 'acked',
      alreadyAcked: false,
    })
    expect(await t.claim('builder')).toEqual([])
  })

  it('extends a lease so a slow consumer keeps its message', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    const [claimed] = await t.claim('builder', { leaseSeconds: 10 })
    ctx.clock.advance(8_000)
    const extended = await t.extendLease(messageId, 'builder', {
      receipt: claimed!.lease.receipt,
      leaseSeconds: 10,
    })
    expect(extended).toMatchObject({ messageId, recipient: 'builder' })
    expect(Date.parse(extended.leaseUntil)).toBe(ctx.clock.now() + 10_000)
    ctx.clock.advance(8_000)
    expect(await t.claim('builder')).toEqual([])
    expect(await t.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })).toMatchObject({
      alreadyAcked: false,
    })
  })

  it('rejects extending a lease on a message that is not leased', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    await expect(t.extendLease(messageId, 'builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    await expect(t.extendLease('msg_nope', 'builder')).rejects.toMatchObject({ code: 'DELIVERY_NOT_FOUND' })
  })

  it('dead-letters a message whose lease ran out on its last attempt instead of leaving it leased forever', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send({}, { maxAttempts: 2 })
    await t.claim('builder', { leaseSeconds: 1 })
    ctx.clock.advance(1_000)
    expect((await t.claim('builder', { leaseSeconds: 1 }))[0]?.lease.attempt).toBe(2)
    ctx.clock.advance(1_000)
    expect(await t.claim('builder')).toEqual([])
    const [delivery] = (await t.status(messageId)).deliveries
    expect(delivery).toMatchObject({ status: 'failed', attempt: 2, maxAttempts: 2, leaseUntil: null })
    expect(delivery?.lastError).toEqual(expect.any(String))
    await expect(t.nack(messageId, 'builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
  })

  it('reports an exhausted lease as failed even if no consumer claims again', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send({}, { maxAttempts: 1 })
    await t.claim('builder', { leaseSeconds: 1 })
    ctx.clock.advance(5_000)
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({ status: 'failed', attempt: 1 })
    expect(await t.claim('builder')).toEqual([])
  })
}
