import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** claimMessage: a recipient leases one named message, whatever comes before it in claim order. */
export function claimMessageCases(ctx: SpoolContractContext): void {
  it('leases only the named message, leaving the more urgent and older ones queued', async () => {
    const { spool } = await ctx.open()
    await spool.send(task('urgent', { priority: 'urgent' }))
    await spool.send(task('older'))
    const wanted = await spool.send(task('wanted'))
    const claimed = await spool.claimMessage('builder', wanted.messageId, { leaseSeconds: 300 })
    expect(claimed?.message.body).toBe('wanted')
    expect(claimed?.lease).toMatchObject({ recipient: 'builder', attempt: 1 })
    const rest = await spool.pending('builder')
    expect(rest.map((p) => [p.message.body, p.delivery.status]).sort()).toEqual([
      ['older', 'queued'],
      ['urgent', 'queued'],
      ['wanted', 'leased'],
    ])
    // A leased message is not handed out twice; the receipt acks it.
    expect(await spool.claimMessage('builder', wanted.messageId)).toBeUndefined()
    await spool.ack(wanted.messageId, 'builder', { receipt: claimed!.lease.receipt })
    expect(await spool.claimMessage('builder', wanted.messageId)).toBeUndefined()
  })

  it('claims the message again once its lease ran out, and after a release', async () => {
    const { spool, clock } = await ctx.open()
    const sent = await spool.send(task())
    const first = await spool.claimMessage('builder', sent.messageId, { leaseSeconds: 10 })
    expect(first?.lease.attempt).toBe(1)
    clock.advance(10_001)
    const again = await spool.claimMessage('builder', sent.messageId, { leaseSeconds: 10 })
    expect(again?.lease.attempt).toBe(2)
    await spool.nack(sent.messageId, 'builder', { receipt: again!.lease.receipt, delaySeconds: 0 })
    expect((await spool.claimMessage('builder', sent.messageId))?.lease.attempt).toBe(3)
  })

  it('does not hand another agent the message, nor an unknown one', async () => {
    const { spool } = await ctx.open()
    const sent = await spool.send(task())
    expect(await spool.claimMessage('reviewer', sent.messageId)).toBeUndefined()
    expect(await spool.claimMessage('builder', 'msg_doesnotexist000000000000')).toBeUndefined()
    expect(await spool.claimMessage('builder', sent.messageId)).toBeDefined()
  })
}
