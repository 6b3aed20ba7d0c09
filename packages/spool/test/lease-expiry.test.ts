import { describe, expect, it } from 'vitest'
import { openSpool, task } from './helpers.js'

describe('lease expiry', () => {
  it('redelivers a message whose lease expired', async () => {
    const { spool, clock } = await openSpool()
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
    const { spool, clock } = await openSpool()
    const { messageId } = await spool.send(task())
    const [slow] = await spool.claim('builder', { leaseSeconds: 5 })
    clock.advance(6_000)
    const [fast] = await spool.claim('builder', { leaseSeconds: 5 })
    await expect(spool.ack(messageId, 'builder', { receipt: slow!.lease.receipt })).rejects.toMatchObject({
      code: 'LEASE_LOST',
    })
    await expect(spool.nack(messageId, 'builder', { receipt: slow!.lease.receipt })).rejects.toMatchObject({
      code: 'LEASE_LOST',
    })
    await expect(
      spool.extendLease(messageId, 'builder', { receipt: slow!.lease.receipt }),
    ).rejects.toMatchObject({
      code: 'LEASE_LOST',
    })
    expect(await spool.ack(messageId, 'builder', { receipt: fast!.lease.receipt })).toMatchObject({
      alreadyAcked: false,
    })
  })

  it('still accepts the ack of a consumer whose lease ran out while nobody else claimed the message', async () => {
    const { spool, clock } = await openSpool()
    const { messageId } = await spool.send(task())
    const [claimed] = await spool.claim('builder', { leaseSeconds: 5 })
    clock.advance(10_000)
    expect(await spool.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })).toMatchObject({
      status: 'acked',
    })
  })

  it('dead-letters a message whose lease ran out on its last attempt instead of leaving it leased forever', async () => {
    const { spool, clock } = await openSpool()
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
    const { spool, clock } = await openSpool()
    const { messageId } = await spool.send(task(), { maxAttempts: 1 })
    await spool.claim('builder', { leaseSeconds: 1 })
    clock.advance(5_000)
    expect((await spool.status(messageId)).deliveries[0]?.status).toBe('failed')
    expect(await spool.listFailed()).toHaveLength(1)
  })
})
