import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** pending(agent): a peek at what waits for an agent, in claim order, claiming nothing. */
export function pendingCases(ctx: SpoolContractContext): void {
  it('peeks at the messages waiting for an agent in claim order, leased ones included, claiming nothing', async () => {
    const { spool, clock } = await ctx.open()
    const low = await spool.send(task('low', { priority: 'low' }))
    await spool.send(task('normal'))
    const critical = await spool.send(task('critical', { priority: 'critical' }))
    await spool.send(task('later'), { delaySeconds: 3 * 3600 })
    await spool.send(task('done'))
    await spool.send(task('expires', { routing: { ttlHours: 1 } }))
    await spool.send({ fromAgent: 'architect', toAgent: 'reviewer', body: 'not for builder' })
    const day = { leaseSeconds: 86_400 }
    expect((await spool.claim('builder', { limit: 1, ...day }))[0]?.message.body).toBe('critical')
    const [normal] = await spool.claim('builder', { limit: 1, ...day })
    expect(normal?.message.body).toBe('normal')
    await spool.ack(normal!.message.id, 'builder', { receipt: normal!.lease.receipt })
    clock.advance(2 * 3600_000)

    const pending = await spool.pending('builder')
    expect(pending.map((p) => [p.message.body, p.delivery.status])).toEqual([
      ['critical', 'leased'],
      ['later', 'queued'],
      ['done', 'queued'],
      ['low', 'queued'],
    ])
    expect(pending[0]?.delivery.leaseUntil).not.toBeNull()
    expect(pending[1]?.delivery.availableAt).not.toBeNull()
    expect((await spool.pending('builder', { limit: 2 })).map((p) => p.message.body)).toEqual([
      'critical',
      'later',
    ])
    // A peek changes nothing: what is due is still claimable, in claim order.
    expect((await spool.claim('builder', { limit: 10 })).map((c) => c.message.id)).toEqual([
      pending[2]?.message.id,
      low.messageId,
    ])
    expect(critical.messageId).toBe(pending[0]?.message.id)
    await expect(spool.pending('builder', { limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(spool.pending('Not An Id!')).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it('with newestFirst, lists the most urgent first, then the newest: what came last is on the first page', async () => {
    const { spool, clock } = await ctx.open()
    for (const body of ['first', 'second', 'third']) {
      await spool.send(task(body))
      clock.advance(1000)
    }
    await spool.send(task('critical but old', { priority: 'critical' }))
    clock.advance(1000)
    await spool.send(task('newest'))
    expect((await spool.pending('builder', { newestFirst: true })).map((p) => p.message.body)).toEqual([
      'critical but old',
      'newest',
      'third',
      'second',
      'first',
    ])
    expect(
      (await spool.pending('builder', { newestFirst: true, limit: 2 })).map((p) => p.message.body),
    ).toEqual(['critical but old', 'newest'])
    // Claim order is unchanged without it.
    expect((await spool.pending('builder', { limit: 2 })).map((p) => p.message.body)).toEqual([
      'critical but old',
      'first',
    ])
  })
}
