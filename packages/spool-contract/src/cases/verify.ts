import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** verify(): a healthy spool reports ok and names the checks it ran. */
export function verifyCases(ctx: SpoolContractContext): void {
  it('reports an empty spool as healthy', async () => {
    const { spool } = await ctx.open()
    expect(await spool.verify()).toMatchObject({ ok: true, problems: [] })
  })

  it('reports a spool that went through every delivery state as healthy, naming the checks it ran', async () => {
    const { spool, clock } = await ctx.open()
    const acked = await spool.send(task('acked'))
    const failed = await spool.send(task('failed'), { maxAttempts: 1 })
    await spool.send(task('leased', { priority: 'low' }))
    await spool.send(task('expired', { routing: { ttlHours: 1 } }))
    await spool.send({ fromAgent: 'ops', toAgent: '*', body: 'fan-out' }, { recipients: ['a', 'b'] })
    await spool.hold({ fromAgent: 'ops', toAgent: 'capability:review', body: 'held' })
    const claimed = await spool.claim('builder', { limit: 3, leaseSeconds: 7_200 })
    const receipt = (id: string) => claimed.find((c) => c.message.id === id)!.lease.receipt
    await spool.ack(acked.messageId, 'builder', { receipt: receipt(acked.messageId) })
    await spool.nack(failed.messageId, 'builder', { receipt: receipt(failed.messageId), reason: 'no' })
    await spool.search({ text: 'fan' })
    clock.advance(3_600_000)
    await spool.claim('a')

    const report = await spool.verify()
    expect(report.problems).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.checks.length).toBeGreaterThan(0)
    for (const check of report.checks) expect(check).toEqual(expect.any(String))
  })
}
