import { expect, it } from 'vitest'
import { claimedTwice, type SpoolContractContext, task } from '../context.js'

/** Leases with receipts: their length, expiry and redelivery, stale receipts, extension, the last attempt. */
export function leaseCases(ctx: SpoolContractContext): void {
  it('leases for the requested time and hands each claim a fresh receipt', async () => {
    const { spool, clock } = await ctx.open()
    await spool.send(task())
    const [first] = await spool.claim('builder', { leaseSeconds: 30 })
    expect(first?.lease.leaseUntil).toBe(new Date(clock.now() + 30_000).toISOString())
    clock.advance(31_000)
    const [second] = await spool.claim('builder', { leaseSeconds: 30 })
    expect(second?.lease.attempt).toBe(2)
    expect(second?.lease.receipt).not.toBe(first?.lease.receipt)
  })

  it('leases for the length the spool was opened with when a claim names none', async () => {
    const { spool, clock } = await ctx.open({ leaseSeconds: 7 })
    await spool.send(task())
    const [claimed] = await spool.claim('builder')
    expect(claimed?.lease.leaseUntil).toBe(new Date(clock.now() + 7_000).toISOString())
  })

  it('redelivers a message whose lease expired', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task())
    await spool.claim('builder', { leaseSeconds: 60 })
    clock.advance(59_999)
    expect(await spool.claim('builder')).toEqual([])
    clock.advance(1)
    const [again] = await spool.claim('builder')
    expect(again?.message.id).toBe(messageId)
    expect(again?.lease.attempt).toBe(2)
    expect((await spool.status(messageId)).deliveries[0]?.lastError).toMatch(/lease expired/)
  })

  it('rejects an ack with a stale receipt after the message was re-claimed', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId, stale, current } = await claimedTwice(spool, clock)
    await expect(spool.ack(messageId, 'builder', { receipt: stale })).rejects.toMatchObject({
      code: 'LEASE_LOST',
    })
    await expect(spool.nack(messageId, 'builder', { receipt: stale })).rejects.toMatchObject({
      code: 'LEASE_LOST',
    })
    await expect(spool.extendLease(messageId, 'builder', { receipt: stale })).rejects.toMatchObject({
      code: 'LEASE_LOST',
    })
    expect(await spool.ack(messageId, 'builder', { receipt: current })).toMatchObject({
      alreadyAcked: false,
    })
  })

  it('still accepts the ack of a consumer whose lease ran out while nobody else claimed the message', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task())
    const [claimed] = await spool.claim('builder', { leaseSeconds: 5 })
    clock.advance(10_000)
    expect(await spool.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })).toMatchObject({
      status: 'acked',
    })
  })

  it('extends a lease so a slow consumer keeps its message', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task())
    const [claimed] = await spool.claim('builder', { leaseSeconds: 10 })
    clock.advance(8_000)
    const extended = await spool.extendLease(messageId, 'builder', {
      receipt: claimed!.lease.receipt,
      leaseSeconds: 10,
    })
    expect(extended.leaseUntil).toBe(new Date(clock.now() + 10_000).toISOString())
    clock.advance(8_000)
    expect(await spool.claim('builder')).toEqual([])
    await spool.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })
  })

  it('dead-letters a message whose lease ran out on its last attempt instead of leaving it leased forever', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task(), { maxAttempts: 2 })
    await spool.claim('builder', { leaseSeconds: 1 })
    clock.advance(1_000)
    await spool.claim('builder', { leaseSeconds: 1 })
    clock.advance(1_000)
    expect(await spool.claim('builder')).toEqual([])
    const { deliveries } = await spool.status(messageId)
    expect(deliveries[0]).toMatchObject({ status: 'failed', attempt: 2, leaseUntil: null })
    expect(deliveries[0]?.lastError).toMatch(/last attempt \(2 of 2\)/)
    expect((await spool.stats()).deliveries).toMatchObject({ leased: 0, failed: 1 })
  })

  it('reports an exhausted lease as failed even if no consumer claims again', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task(), { maxAttempts: 1 })
    await spool.claim('builder', { leaseSeconds: 1 })
    clock.advance(5_000)
    expect((await spool.status(messageId)).deliveries[0]?.status).toBe('failed')
    expect(await spool.listFailed()).toHaveLength(1)
  })
}
