import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** `ackAndClaim`: the acks and the next claim in one transaction, all or nothing. */
export function settleAndClaimCases(ctx: SpoolContractContext): void {
  it('acks what was handled and leases the next messages in one call', async () => {
    const { spool } = await ctx.open()
    const first = await spool.send(task('first'))
    const second = await spool.send(task('second'))
    const [claimed] = await spool.claim('builder', { limit: 1 })
    expect(claimed?.message.id).toBe(first.messageId)
    const next = await spool.ackAndClaim(
      [{ messageId: first.messageId, agent: 'builder', receipt: claimed!.lease.receipt }],
      'builder',
      { limit: 10, leaseSeconds: 30 },
    )
    expect(next.map((c) => c.message.id)).toEqual([second.messageId])
    expect(next[0]?.lease.attempt).toBe(1)
    expect((await spool.status(first.messageId)).deliveries[0]?.status).toBe('acked')
    expect((await spool.status(second.messageId)).deliveries[0]?.status).toBe('leased')
  })

  it('claims only when given nothing to ack, and acks only when nothing is left to claim', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    const [claimed] = await spool.ackAndClaim([], 'builder')
    expect(claimed?.message.id).toBe(messageId)
    const none = await spool.ackAndClaim(
      [{ messageId, agent: 'builder', receipt: claimed!.lease.receipt }],
      'builder',
    )
    expect(none).toEqual([])
    expect((await spool.status(messageId)).deliveries[0]?.status).toBe('acked')
  })

  it('acks and claims nothing when one of its acks is refused, with the error an ack gives', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task())
    const [slow] = await spool.claim('builder', { leaseSeconds: 5 })
    clock.advance(6_000)
    const [fast] = await spool.claim('builder', { leaseSeconds: 5 })
    const waiting = await spool.send(task('waiting'))
    await expect(
      spool.ackAndClaim([{ messageId, agent: 'builder', receipt: slow!.lease.receipt }], 'builder'),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' })
    expect((await spool.status(waiting.messageId)).deliveries[0]?.status).toBe('queued')
    const [again] = await spool.ackAndClaim(
      [{ messageId, agent: 'builder', receipt: fast!.lease.receipt }],
      'builder',
    )
    expect(again?.message.id).toBe(waiting.messageId)
  })
}
