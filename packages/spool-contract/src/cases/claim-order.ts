import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** Claim order: critical, high, normal, low, then oldest first; the limit; only the agent's own messages. */
export function claimOrderCases(ctx: SpoolContractContext): void {
  it('hands out critical before high before normal before low', async () => {
    const { spool, clock } = await ctx.open()
    for (const priority of ['low', 'normal', 'critical', 'high'] as const) {
      await spool.send(task(priority, { priority }))
      clock.advance(1)
    }
    const claimed = await spool.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.priority)).toEqual(['critical', 'high', 'normal', 'low'])
  })

  it('hands out an older message of a lower priority only after every more urgent one', async () => {
    const { spool, clock } = await ctx.open()
    await spool.send(task('old low', { priority: 'low' }))
    clock.advance(60_000)
    await spool.send(task('new normal'))
    clock.advance(60_000)
    await spool.send(task('newest high', { priority: 'high' }))
    const claimed = await spool.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.body)).toEqual(['newest high', 'new normal', 'old low'])
  })

  it('accepts urgent as critical and delivers it first', async () => {
    const { spool } = await ctx.open()
    await spool.send(task('routine'))
    await spool.send(task('fire', { priority: 'urgent' }))
    const [first] = await spool.claim('builder', { limit: 1 })
    expect(first?.message).toMatchObject({ body: 'fire', priority: 'critical' })
  })

  it('is first in, first out within one priority', async () => {
    const { spool, clock } = await ctx.open()
    const sent: string[] = []
    for (let i = 0; i < 20; i++) {
      sent.push((await spool.send(task(`n${i}`))).messageId)
      if (i % 3 === 0) clock.advance(1)
    }
    const claimed = [
      ...(await spool.claim('builder', { limit: 7 })),
      ...(await spool.claim('builder', { limit: 13 })),
    ]
    expect(claimed.map((c) => c.message.id)).toEqual(sent)
  })

  it('claims at most the limit and only the agent’s own messages', async () => {
    const { spool } = await ctx.open()
    for (let i = 0; i < 5; i++) await spool.send(task(`b${i}`))
    await spool.send({ fromAgent: 'architect', toAgent: 'reviewer', body: 'review' })
    expect(await spool.claim('builder', { limit: 3 })).toHaveLength(3)
    expect(await spool.claim('builder', { limit: 3 })).toHaveLength(2)
    const reviewer = await spool.claim('reviewer')
    expect(reviewer.map((c) => c.message.body)).toEqual(['review'])
  })

  it('rejects bad claim options with a message naming the option', async () => {
    const { spool } = await ctx.open()
    await expect(spool.claim('builder', { limit: 0 })).rejects.toThrow(/limit: must be at least 1/)
    await expect(spool.claim('builder', { limit: -5 })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(spool.claim('builder', { leaseSeconds: -1 })).rejects.toThrow(/leaseSeconds/)
    await expect(spool.claim('bad agent')).rejects.toThrow(/agent id/)
  })

  it('never hands the same delivery to two concurrent claimers on one spool', async () => {
    const { spool } = await ctx.open()
    await spool.sendBatch(Array.from({ length: 200 }, (_, i) => ({ message: task(`m${i}`) })))
    const batches = await Promise.all(Array.from({ length: 20 }, () => spool.claim('builder', { limit: 15 })))
    const ids = batches.flat().map((c) => c.message.id)
    expect(ids).toHaveLength(200)
    expect(new Set(ids).size).toBe(200)
  })
}
