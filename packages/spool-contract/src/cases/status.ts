import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** status(id): every delivery of one message. */
export function statusCases(ctx: SpoolContractContext): void {
  it('reports every delivery of a message with attempts, leases and last errors', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(
      { fromAgent: 'a', toAgent: '*', body: 'x' },
      { recipients: ['b', 'c'] },
    )
    await spool.claim('b')
    await spool.nack(messageId, 'b', { reason: 'try later', delaySeconds: 5 })
    const status = await spool.status(messageId)
    expect(status.message.id).toBe(messageId)
    expect(status.deliveries).toEqual([
      expect.objectContaining({ recipient: 'b', status: 'queued', attempt: 1, lastError: 'try later' }),
      expect.objectContaining({ recipient: 'c', status: 'queued', attempt: 0, lastError: null }),
    ])
    await expect(spool.status('msg_missing')).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
  })

  it('reports the times of a delivery as ISO strings on the spool’s clock', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task(), { delaySeconds: 10 })
    clock.advance(10_000)
    const [claimed] = await spool.claim('builder', { leaseSeconds: 30 })
    const leased = (await spool.status(messageId)).deliveries[0]
    expect(leased).toMatchObject({
      status: 'leased',
      leaseUntil: new Date(clock.now() + 30_000).toISOString(),
      ackedAt: null,
    })
    clock.advance(1_000)
    await spool.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })
    expect((await spool.status(messageId)).deliveries[0]?.ackedAt).toBe(new Date(clock.now()).toISOString())
  })
}
