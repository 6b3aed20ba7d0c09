import { SpoolStatsSchema } from '@agent-comm/protocol'
import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** stats(): totals by status, queue ages, failure rate and per-agent depth. */
export function statsCases(ctx: SpoolContractContext): void {
  it('reports totals by status, queue ages, failure rate and per-agent depth', async () => {
    const { spool, clock } = await ctx.open()
    const a = await spool.send(task('a'), { maxAttempts: 1 })
    await spool.send(task('b'))
    await spool.send({ fromAgent: 'x', toAgent: 'reviewer', body: 'c' })
    clock.advance(10_000)
    const claimed = await spool.claim('builder', { limit: 2 })
    await spool.nack(a.messageId, 'builder', { reason: 'no' })
    await spool.ack(claimed[1]!.message.id, 'builder')
    clock.advance(5_000)
    const stats = await spool.stats()
    expect(stats).toMatchObject({
      totalMessages: 3,
      deliveries: { queued: 1, leased: 0, acked: 1, failed: 1, expired: 0 },
      oldestQueuedAgeMs: 15_000,
      oldestLeaseAgeMs: null,
      failedRate: 0.5,
      agents: { builder: { queued: 0, leased: 0, failed: 1 }, reviewer: { queued: 1, leased: 0, failed: 0 } },
    })
    // What the relay and the MCP server publish is this shape: the protocol's schema, nothing left out.
    expect(SpoolStatsSchema.strict().parse(stats)).toEqual(stats)
  })

  it('reports an empty spool as all zeros, with no ages', async () => {
    const { spool } = await ctx.open()
    expect(await spool.stats()).toMatchObject({
      totalMessages: 0,
      deliveries: { queued: 0, leased: 0, acked: 0, failed: 0, expired: 0 },
      oldestQueuedAgeMs: null,
      oldestLeaseAgeMs: null,
    })
  })
}
