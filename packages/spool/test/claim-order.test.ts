import { describe, expect, it } from 'vitest'
import { openSpool, task } from './helpers.js'

describe('claim order', () => {
  it('hands out critical before high before normal before low', async () => {
    const { spool, clock } = await openSpool()
    for (const priority of ['low', 'normal', 'critical', 'high'] as const) {
      await spool.send(task(priority, { priority }))
      clock.advance(1)
    }
    const claimed = await spool.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.priority)).toEqual(['critical', 'high', 'normal', 'low'])
  })

  it('accepts urgent as critical and delivers it first', async () => {
    const { spool } = await openSpool()
    await spool.send(task('routine'))
    await spool.send(task('fire', { priority: 'urgent' }))
    const [first] = await spool.claim('builder', { limit: 1 })
    expect(first?.message).toMatchObject({ body: 'fire', priority: 'critical' })
  })

  it('is first in, first out within one priority', async () => {
    const { spool, clock } = await openSpool()
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
    const { spool } = await openSpool()
    for (let i = 0; i < 5; i++) await spool.send(task(`b${i}`))
    await spool.send({ fromAgent: 'architect', toAgent: 'reviewer', body: 'review' })
    expect(await spool.claim('builder', { limit: 3 })).toHaveLength(3)
    expect(await spool.claim('builder', { limit: 3 })).toHaveLength(2)
    const reviewer = await spool.claim('reviewer')
    expect(reviewer.map((c) => c.message.body)).toEqual(['review'])
  })

  it('rejects bad claim options with a message naming the option', async () => {
    const { spool } = await openSpool()
    await expect(spool.claim('builder', { limit: 0 })).rejects.toThrow(/limit: must be at least 1/)
    await expect(spool.claim('builder', { limit: -5 })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(spool.claim('builder', { leaseSeconds: -1 })).rejects.toThrow(/leaseSeconds/)
    await expect(spool.claim('bad agent')).rejects.toThrow(/agent id/)
  })

  it('never hands the same delivery to two concurrent claimers in one process', async () => {
    const { spool } = await openSpool()
    await spool.sendBatch(Array.from({ length: 200 }, (_, i) => ({ message: task(`m${i}`) })))
    const batches = await Promise.all(Array.from({ length: 20 }, () => spool.claim('builder', { limit: 15 })))
    const ids = batches.flat().map((c) => c.message.id)
    expect(ids).toHaveLength(200)
    expect(new Set(ids).size).toBe(200)
  })
})
