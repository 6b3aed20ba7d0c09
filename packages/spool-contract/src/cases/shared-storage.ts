import type { ClaimedMessage } from '@agent-comm/spool'
import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** A fallback re-check short enough that a wait missing its wake-up still ends; no assertion reads time. */
const SHORT_WAKE_MS = 50

/**
 * A bound on the cross-spool wait far above any wake-up (every {@link SHORT_WAKE_MS} at the latest), so a
 * store whose spools do not share their storage fails the case with `false` instead of hanging it.
 */
const GIVE_UP_MS = 60_000

/** Several spools on one storage, as several processes would open it: one queue, one set of leases. */
export function sharedStorageCases(ctx: SpoolContractContext): void {
  it('shows a second spool on the same storage what the first sent, and the first what the second did', async () => {
    const { spool: first, openAnother } = await ctx.open()
    const second = await openAnother()
    const { messageId } = await first.send(task())
    const [claimed] = await second.claim('builder')
    expect(claimed?.message.id).toBe(messageId)
    expect((await first.status(messageId)).deliveries[0]).toMatchObject({ status: 'leased', attempt: 1 })
    expect(await first.claim('builder')).toEqual([])
    await second.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })
    expect((await first.status(messageId)).deliveries[0]?.status).toBe('acked')
    expect((await first.stats()).deliveries.acked).toBe(1)
    expect((await first.search({ text: 'auth' })).map((m) => m.id)).toEqual([messageId])
  })

  it('wakes waitForMessages on one spool when another spool on the same storage sends', async () => {
    const { spool: sender, openAnother } = await ctx.open()
    const receiver = await openAnother({ wakeIntervalMs: SHORT_WAKE_MS })
    const waiting = receiver.waitForMessages('builder', { timeoutMs: GIVE_UP_MS })
    await sender.send(task())
    expect(await waiting).toBe(true)
    expect(await receiver.claim('builder')).toHaveLength(1)
  })

  it('refuses a stale receipt on one spool after another spool on the same storage re-claimed the message', async () => {
    const { spool: slow, clock, openAnother } = await ctx.open()
    const fast = await openAnother()
    const { messageId } = await slow.send(task())
    const [mine] = await slow.claim('builder', { leaseSeconds: 5 })
    clock.advance(6_000)
    const [theirs] = await fast.claim('builder', { leaseSeconds: 5 })
    expect(theirs?.lease.attempt).toBe(2)
    await expect(slow.ack(messageId, 'builder', { receipt: mine!.lease.receipt })).rejects.toMatchObject({
      code: 'LEASE_LOST',
    })
    expect(await fast.ack(messageId, 'builder', { receipt: theirs!.lease.receipt })).toMatchObject({
      alreadyAcked: false,
    })
  })

  it('never hands a delivery to two claimers while its lease is live, across spools on the same storage', async () => {
    const { instances, claimsPerInstance, messages } = ctx.concurrency
    const { spool: first, openAnother } = await ctx.open()
    const spools = [first]
    for (let i = 1; i < instances; i++) spools.push(await openAnother())
    await first.sendBatch(Array.from({ length: messages }, (_, i) => ({ message: task(`m${i}`) })))
    const limit = Math.max(1, Math.ceil(messages / (instances * claimsPerInstance)) + 2)

    // Every claim of every spool starts before any finishes.
    const claims = spools.flatMap((spool) =>
      Array.from({ length: claimsPerInstance }, () => spool.claim('builder', { limit })),
    )
    const claimed: ClaimedMessage[] = (await Promise.all(claims)).flat()
    // A store may let a claim skip rows another claim holds: whatever is left is still claimable, once.
    for (let i = 0; claimed.length < messages; i++) {
      const more = await spools[i % spools.length]!.claim('builder', { limit: messages })
      if (more.length === 0) break
      claimed.push(...more)
    }
    const ids = claimed.map((c) => c.message.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).toHaveLength(messages)
    expect(claimed.every((c) => c.lease.attempt === 1)).toBe(true)
    for (const spool of spools) expect(await spool.claim('builder')).toEqual([])

    // Every receipt is good on any spool of the storage: acks spread over them all at once.
    const acks = await Promise.all(
      claimed.map((c, i) =>
        spools[i % spools.length]!.ack(c.message.id, 'builder', { receipt: c.lease.receipt }),
      ),
    )
    expect(acks.every((a) => a.status === 'acked' && !a.alreadyAcked)).toBe(true)
    expect((await first.stats()).deliveries).toMatchObject({ acked: messages, leased: 0, queued: 0 })
  })
}
