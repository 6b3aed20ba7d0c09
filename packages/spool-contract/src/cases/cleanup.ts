import { CleanupReportSchema } from '@agent-comm/protocol'
import { CLEANUP_BATCH, type Spool } from '@agent-comm/spool'
import { spoolStoreOf } from '@agent-comm/spool/testing'
import { expect, it, vi } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** cleanup(): expired and long-acked messages removed, counts reported, a dry run that changes nothing. */
export function cleanupCases(ctx: SpoolContractContext): void {
  it('removes expired messages and reports counts, with a dry run that changes nothing', async () => {
    const { spool, clock } = await ctx.open()
    await spool.send(task('short', { routing: { ttlHours: 1 } }))
    await spool.send(
      { fromAgent: 'a', toAgent: '*', body: 'short too', routing: { ttlHours: 1 } },
      { recipients: ['b', 'c'] },
    )
    await spool.send(task('long', { routing: { ttlHours: 48 } }))
    clock.advance(2 * 3_600_000)
    const dryRun = await spool.cleanup({ dryRun: true })
    expect(dryRun).toEqual({
      dryRun: true,
      expiredMessages: 2,
      ackedMessages: 0,
      deliveries: 3,
    })
    // What the relay and the MCP server publish is this shape: the protocol's schema, nothing left out.
    expect(CleanupReportSchema.strict().parse(dryRun)).toEqual(dryRun)
    expect((await spool.stats()).totalMessages).toBe(3)
    expect(await spool.cleanup()).toEqual({
      dryRun: false,
      expiredMessages: 2,
      ackedMessages: 0,
      deliveries: 3,
    })
    expect((await spool.stats()).totalMessages).toBe(1)
    expect(await spool.search({ text: 'short' })).toEqual([])
    expect((await spool.verify()).ok).toBe(true)
  })

  it('removes messages acked by every recipient longer ago than the retention', async () => {
    const { spool, clock } = await ctx.open()
    const old = await spool.send(task('old'))
    await spool.claim('builder')
    await spool.ack(old.messageId, 'builder')
    const partly = await spool.send(
      { fromAgent: 'a', toAgent: '*', body: 'partly' },
      { recipients: ['b', 'c'] },
    )
    await spool.claim('b')
    await spool.ack(partly.messageId, 'b')
    clock.advance(3_600_000)
    const recent = await spool.send(task('recent'))
    await spool.claim('builder')
    await spool.ack(recent.messageId, 'builder')
    const report = await spool.cleanup({ ackedOlderThanMs: 1_800_000 })
    expect(report).toMatchObject({ ackedMessages: 1, expiredMessages: 0, deliveries: 1 })
    await expect(spool.status(old.messageId)).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
    await expect(spool.status(partly.messageId)).resolves.toBeDefined()
    await expect(spool.status(recent.messageId)).resolves.toBeDefined()
  })

  it('takes a fractional retention, and refuses one beyond 1,000 years with VALIDATION', async () => {
    const { spool, clock } = await ctx.open()
    const old = await spool.send(task('old'))
    await spool.claim('builder')
    await spool.ack(old.messageId, 'builder')
    clock.advance(10)
    expect(await spool.cleanup({ ackedOlderThanMs: 2.5 })).toMatchObject({ ackedMessages: 1 })
    await expect(spool.cleanup({ ackedOlderThanMs: 8.6e21 })).rejects.toMatchObject({
      code: 'VALIDATION',
      issues: [{ path: 'ackedOlderThanMs', message: 'must be at most 1,000 years' }],
    })
  })

  it('keeps acked messages when no retention is given, and queued messages whatever the retention', async () => {
    const { spool, clock } = await ctx.open()
    const acked = await spool.send(task('acked'))
    await spool.claim('builder')
    await spool.ack(acked.messageId, 'builder')
    await spool.send(task('queued'))
    clock.advance(3_600_000)
    expect(await spool.cleanup()).toMatchObject({ expiredMessages: 0, ackedMessages: 0, deliveries: 0 })
    expect(await spool.cleanup({ ackedOlderThanMs: 1 })).toMatchObject({ ackedMessages: 1 })
    expect((await spool.stats()).totalMessages).toBe(1)
  })

  it('keeps expired messages, dead letters among them, until they expired longer ago than expiredOlderThanMs', async () => {
    const { spool, clock } = await ctx.open()
    const dead = await spool.send(task('dead letter', { routing: { ttlHours: 1 } }))
    const [claimed] = await spool.claim('builder')
    await spool.nack(dead.messageId, 'builder', { receipt: claimed!.lease.receipt, deadLetter: true })
    const acked = await spool.send(task('acked', { routing: { ttlHours: 1 } }))
    const [got] = await spool.claim('builder')
    await spool.ack(acked.messageId, 'builder', { receipt: got!.lease.receipt })
    clock.advance(90 * 60_000) // both expired 30 minutes ago
    const week = 7 * 24 * 3_600_000
    const hour = 3_600_000
    // The acked one goes as acked (acked more than a minute ago); the dead letter stays to be looked at.
    expect(await spool.cleanup({ expiredOlderThanMs: hour, ackedOlderThanMs: 60_000 })).toEqual({
      dryRun: false,
      expiredMessages: 0,
      ackedMessages: 1,
      deliveries: 1,
    })
    expect((await spool.listFailed()).map((d) => d.message.id)).toEqual([dead.messageId])
    clock.advance(hour)
    expect(await spool.cleanup({ expiredOlderThanMs: week })).toMatchObject({ expiredMessages: 0 })
    expect(await spool.cleanup({ expiredOlderThanMs: hour })).toMatchObject({
      expiredMessages: 1,
      deliveries: 1,
    })
    expect((await spool.stats()).totalMessages).toBe(0)
    await expect(spool.cleanup({ expiredOlderThanMs: -1 })).rejects.toMatchObject({
      code: 'VALIDATION',
      issues: [{ path: 'expiredOlderThanMs', message: 'must not be negative' }],
    })
  })

  it('removes a backlog a batch a transaction, reports the total, and stops between batches on its signal', async () => {
    const { spool, clock } = await ctx.open()
    const backlog = 2 * CLEANUP_BATCH + 5
    await spool.sendBatch(
      Array.from({ length: backlog }, (_, i) => ({ message: task(`m${i}`, { routing: { ttlHours: 1 } }) })),
    )
    await spool.send(task('still fresh', { routing: { ttlHours: 48 } }))
    clock.advance(2 * 3_600_000)
    // The store under test, to watch what the spool asks of it (every factory's spool is a `Spool`).
    const spoolStore = spoolStoreOf(spool as Spool)
    const cleanupRows = spoolStore.cleanup.bind(spoolStore)
    const store = vi.spyOn(spoolStore, 'cleanup')
    // A dry run counts everything in one read.
    expect(await spool.cleanup({ dryRun: true })).toMatchObject({ expiredMessages: backlog })
    expect(store.mock.calls.map(([params]) => params.limit)).toEqual([undefined])
    store.mockClear()
    // Stopped during the first batch: what is left goes on the next cleanup.
    const stop = new AbortController()
    store.mockImplementationOnce(async (params) => {
      stop.abort()
      return cleanupRows(params)
    })
    expect(await spool.cleanup({}, { signal: stop.signal })).toMatchObject({ expiredMessages: CLEANUP_BATCH })
    store.mockClear()
    expect(await spool.cleanup()).toEqual({
      dryRun: false,
      expiredMessages: backlog - CLEANUP_BATCH,
      ackedMessages: 0,
      deliveries: backlog - CLEANUP_BATCH,
    })
    const batches = store.mock.calls.map(([params]) => params)
    expect(batches.map((params) => params.limit)).toEqual([CLEANUP_BATCH, CLEANUP_BATCH])
    expect(new Set(batches.map((params) => params.now)).size).toBe(1)
    expect((await spool.stats()).totalMessages).toBe(1)
  })

  it('removes at most limit messages a call, the oldest first, so a backlog goes in short transactions', async () => {
    const { spool, clock } = await ctx.open()
    const ids = []
    for (const body of ['first', 'second', 'third']) {
      ids.push((await spool.send(task(body, { routing: { ttlHours: 1 } }))).messageId)
    }
    clock.advance(2 * 3_600_000)
    expect(await spool.cleanup({ limit: 2, dryRun: true })).toMatchObject({
      expiredMessages: 2,
      deliveries: 2,
    })
    expect(await spool.cleanup({ limit: 2 })).toMatchObject({ expiredMessages: 2, deliveries: 2 })
    await expect(spool.status(ids[0]!)).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
    await expect(spool.status(ids[2]!)).resolves.toBeDefined()
    expect(await spool.cleanup({ limit: 2 })).toMatchObject({ expiredMessages: 1 })
    expect((await spool.stats()).totalMessages).toBe(0)
    await expect(spool.cleanup({ limit: 0 })).rejects.toMatchObject({
      code: 'VALIDATION',
      issues: [{ path: 'limit', message: 'must be at least 1' }],
    })
  })
}
