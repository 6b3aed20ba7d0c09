import { expect, it } from 'vitest'
import type { ContractContext } from '../context.js'

/** Which deliveries a claim hands out, in what order, and to whom. */
export function orderingCases(ctx: ContractContext): void {
  it('hands out critical before high before normal before low', async () => {
    for (const priority of ['low', 'normal', 'critical', 'high'] as const) {
      await ctx.send({ body: priority, priority })
      ctx.clock.advance(1)
    }
    const claimed = await ctx.transport.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.priority)).toEqual(['critical', 'high', 'normal', 'low'])
  })

  it('hands out an older message of a lower priority only after every more urgent one', async () => {
    const old = await ctx.send({ body: 'old and low', priority: 'low' })
    ctx.clock.advance(60_000)
    const urgent = await ctx.send({ body: 'new and urgent', priority: 'urgent' })
    const [first, second] = await ctx.transport.claim('builder', { limit: 2 })
    expect(first?.message).toMatchObject({ id: urgent.messageId, priority: 'critical' })
    expect(second?.message.id).toBe(old.messageId)
  })

  it('is first in, first out within one priority', async () => {
    const sent: string[] = []
    for (let i = 0; i < 20; i++) {
      sent.push((await ctx.send({ body: `n${i}` })).messageId)
      if (i % 3 === 0) ctx.clock.advance(1)
    }
    const claimed = [
      ...(await ctx.transport.claim('builder', { limit: 7 })),
      ...(await ctx.transport.claim('builder', { limit: 13 })),
    ]
    expect(claimed.map((c) => c.message.id)).toEqual(sent)
  })

  it('claims at most the limit and only the agent’s own messages', async () => {
    const t = ctx.transport
    for (let i = 0; i < 5; i++) await ctx.send({ body: `b${i}` })
    await ctx.send({ toAgent: 'reviewer', body: 'review' })
    expect(await t.claim('builder', { limit: 3 })).toHaveLength(3)
    expect(await t.claim('builder', { limit: 3 })).toHaveLength(2)
    expect(await t.claim('builder', { limit: 3 })).toEqual([])
    const reviewer = await t.claim('reviewer')
    expect(reviewer.map((c) => c.message.body)).toEqual(['review'])
    expect(await t.claim('nobody')).toEqual([])
  })

  it('claims ten messages when no limit is given', async () => {
    for (let i = 0; i < 12; i++) await ctx.send({ body: `m${i}` })
    expect(await ctx.transport.claim('builder')).toHaveLength(10)
  })

  it('never hands the same delivery to two concurrent claimers', async () => {
    const t = ctx.transport
    const sent = new Set<string>()
    for (let i = 0; i < 60; i++) sent.add((await ctx.send({ body: `m${i}` })).messageId)
    const batches = await Promise.all(Array.from({ length: 12 }, () => t.claim('builder', { limit: 7 })))
    const ids = batches.flat().map((c) => c.message.id)
    expect(ids).toHaveLength(60)
    expect(new Set(ids)).toEqual(sent)
    const receipts = batches.flat().map((c) => c.lease.receipt)
    expect(new Set(receipts).size).toBe(60)
  })

  it('keeps a delayed message invisible until it is due', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send({}, { delaySeconds: 30 })
    expect((await t.status(messageId)).deliveries[0]).toMatchObject({ status: 'queued' })
    expect(Date.parse((await t.status(messageId)).deliveries[0]!.availableAt!)).toBe(ctx.clock.now() + 30_000)
    expect(await t.claim('builder')).toEqual([])
    ctx.clock.advance(29_999)
    expect(await t.claim('builder')).toEqual([])
    ctx.clock.advance(1)
    expect((await t.claim('builder')).map((c) => c.message.id)).toEqual([messageId])
  })
}
