import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** Held group messages: stored for agents that register later, released once per agent. */
export function heldMessageCases(ctx: SpoolContractContext): void {
  it('stores a group message that reaches nobody yet, and status shows it held with no deliveries', async () => {
    const { spool, clock } = await ctx.open()
    const held = await spool.hold({ fromAgent: 'boss', toAgent: 'capability:review', body: 'x' })
    expect(held.heldUntil).toBe(new Date(clock.now() + 24 * 3_600_000).toISOString())
    const status = await spool.status(held.messageId)
    expect(status).toMatchObject({ heldUntil: held.heldUntil, deliveries: [] })
  })

  it('releases a held message once per agent, with the attempts the sender asked for', async () => {
    const { spool } = await ctx.open()
    const held = await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'x' }, { maxAttempts: 7 })
    expect(await spool.releaseHeld('a', [])).toEqual({ released: 1 })
    expect(await spool.releaseHeld('a', ['review'])).toEqual({ released: 0 })
    const [claimed] = await spool.claim('a')
    expect(claimed).toMatchObject({ message: { id: held.messageId }, lease: { maxAttempts: 7 } })
  })

  it('releases a capability message only to agents with that capability, never to its sender', async () => {
    const { spool } = await ctx.open()
    await spool.hold({ fromAgent: 'boss', toAgent: 'capability:review', body: 'x' })
    await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'to all' })
    expect(await spool.releaseHeld('coder', ['build'])).toEqual({ released: 1 })
    expect(await spool.releaseHeld('boss', ['review'])).toEqual({ released: 0 })
    expect(await spool.releaseHeld('reviewer', ['review'])).toEqual({ released: 2 })
    expect((await spool.claim('coder')).map((c) => c.message.body)).toEqual(['to all'])
  })

  it('holding a message already sent to its current holders gives none of them a second delivery', async () => {
    const { spool } = await ctx.open()
    const message = { fromAgent: 'boss', toAgent: 'capability:review', body: 'x' }
    const sent = await spool.send(message, { recipients: ['a'] })
    await spool.hold(sent.message)
    expect(await spool.releaseHeld('a', ['review'])).toEqual({ released: 0 })
    expect(await spool.releaseHeld('b', ['review'])).toEqual({ released: 1 })
    expect((await spool.status(sent.message.id)).deliveries.map((d) => d.recipient)).toEqual(['a', 'b'])
  })

  it('refuses to hold a direct message, or another sender’s id', async () => {
    const { spool } = await ctx.open()
    await expect(spool.hold(task())).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining("only a broadcast ('*') or capability"),
    })
    expect((await spool.stats()).totalMessages).toBe(0)
    const held = await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'x' })
    await expect(spool.hold({ ...held.message, fromAgent: 'mallory' })).rejects.toMatchObject({
      code: 'CONFLICT',
    })
  })

  it('cleanup keeps a held message whose deliveries are all acked until the hold ends', async () => {
    const { spool, clock } = await ctx.open()
    const held = await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'x', routing: { ttlHours: 2 } })
    await spool.releaseHeld('a', [])
    const [claimed] = await spool.claim('a')
    await spool.ack(held.messageId, 'a', { receipt: claimed!.lease.receipt })
    clock.advance(60_000)
    expect(await spool.cleanup({ ackedOlderThanMs: 1 })).toMatchObject({ ackedMessages: 0 })
    clock.advance(2 * 3_600_000)
    expect(await spool.cleanup({ ackedOlderThanMs: 1 })).toMatchObject({ expiredMessages: 1 })
  })
}
