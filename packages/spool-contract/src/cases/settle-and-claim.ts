import { expect, it } from 'vitest'
import { claimedTwice, type SpoolContractContext, task } from '../context.js'

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
    const { messageId, stale, current } = await claimedTwice(spool, clock)
    const waiting = await spool.send(task('waiting'))
    await expect(
      spool.ackAndClaim([{ messageId, agent: 'builder', receipt: stale }], 'builder'),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' })
    expect((await spool.status(waiting.messageId)).deliveries[0]?.status).toBe('queued')
    const [again] = await spool.ackAndClaim([{ messageId, agent: 'builder', receipt: current }], 'builder')
    expect(again?.message.id).toBe(waiting.messageId)
  })

  it('acks a batch and leases the next batch in one call, in claim order', async () => {
    const { spool } = await ctx.open()
    const sent = []
    for (let i = 0; i < 5; i++) sent.push((await spool.send(task(`task ${i}`))).messageId)
    const first = await spool.claim('builder', { limit: 3 })
    const next = await spool.ackAndClaim(
      first.map((c) => ({ messageId: c.message.id, agent: 'builder', receipt: c.lease.receipt })),
      'builder',
      { limit: 3 },
    )
    expect(next.map((c) => c.message.id)).toEqual(sent.slice(3))
    for (const id of sent.slice(0, 3)) expect((await spool.status(id)).deliveries[0]?.status).toBe('acked')
  })

  it('acks a lease that ran out and nobody took back, rather than taking it back or failing it', async () => {
    const { spool, clock } = await ctx.open()
    // One lease with attempts left (a claim would take it back) and one on its last attempt (a claim
    // would fail it): both still held under their receipts, so the acks apply first.
    const retry = await spool.send(task('attempts left'))
    const last = await spool.send(task('last attempt'), { maxAttempts: 1 })
    const held = await spool.claim('builder', { limit: 2, leaseSeconds: 5 })
    expect(held).toHaveLength(2)
    const waiting = await spool.send(task('waiting'))
    clock.advance(6_000)
    const next = await spool.ackAndClaim(
      held.map((c) => ({ messageId: c.message.id, agent: 'builder', receipt: c.lease.receipt })),
      'builder',
    )
    expect(next.map((c) => c.message.id)).toEqual([waiting.messageId])
    expect((await spool.status(retry.messageId)).deliveries[0]?.status).toBe('acked')
    expect((await spool.status(last.messageId)).deliveries[0]?.status).toBe('acked')
  })

  it('reports an ack already made as done, and still claims', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    const waiting = await spool.send(task('waiting'))
    const [claimed] = await spool.claim('builder', { limit: 1 })
    const ack = { messageId, agent: 'builder', receipt: claimed!.lease.receipt }
    await spool.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })
    const next = await spool.ackAndClaim([ack], 'builder')
    expect(next.map((c) => c.message.id)).toEqual([waiting.messageId])
  })
}
