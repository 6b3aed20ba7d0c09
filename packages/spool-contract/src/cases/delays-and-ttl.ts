import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** Delayed delivery (delaySeconds, notBefore) and TTL: nothing delivered before its time or past its life. */
export function delayAndTtlCases(ctx: SpoolContractContext): void {
  it('keeps a delayed message invisible until its time', async () => {
    const { spool, clock } = await ctx.open()
    await spool.send(task('later'), { delaySeconds: 30 })
    await spool.send(task('at noon'), { notBefore: clock.now() + 60_000 })
    expect(await spool.claim('builder')).toEqual([])
    clock.advance(30_000)
    expect((await spool.claim('builder')).map((c) => c.message.body)).toEqual(['later'])
    clock.advance(30_000)
    expect((await spool.claim('builder')).map((c) => c.message.body)).toEqual(['at noon'])
  })

  it('never delivers a message past its TTL', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task('stale soon', { routing: { ttlHours: 1 } }))
    clock.advance(3_600_000)
    expect(await spool.claim('builder')).toEqual([])
    expect((await spool.status(messageId)).deliveries[0]?.status).toBe('expired')
    expect((await spool.stats()).deliveries.expired).toBe(1)
  })

  it('delivers a message with a TTL while it is still alive', async () => {
    const { spool, clock } = await ctx.open()
    const { messageId } = await spool.send(task('fresh', { routing: { ttlHours: 1 } }))
    clock.advance(3_599_999)
    expect((await spool.claim('builder')).map((c) => c.message.id)).toEqual([messageId])
  })

  it('never redelivers a leased message whose TTL ran out', async () => {
    const { spool, clock } = await ctx.open()
    await spool.send(task('x', { routing: { ttlHours: 1 } }))
    await spool.claim('builder', { leaseSeconds: 60 })
    clock.advance(3_600_000)
    expect(await spool.claim('builder')).toEqual([])
  })
}
