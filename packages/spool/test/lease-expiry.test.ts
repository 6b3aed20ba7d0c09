import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Spool } from '../src/index.js'
import { onCleanup, openSpool, task } from './helpers.js'

// A short claim skips the look for run-out leases while none can have run out: these are the cases where
// one can, each of which the next short claim must find.
describe('run-out leases found by a claim that comes back short', () => {
  it('redelivers a message whose lease ran out, at the default limit', async () => {
    const { spool, clock } = await openSpool()
    await spool.send(task('first'))
    const [first] = await spool.claim('builder', { limit: 10, leaseSeconds: 30 })
    expect(await spool.claim('builder', { limit: 10 })).toEqual([])
    clock.advance(31_000)
    const again = await spool.claim('builder', { limit: 10 })
    expect(again.map((c) => [c.message.id, c.lease.attempt])).toEqual([[first!.message.id, 2]])
  })

  it('redelivers a message whose lease was shortened by extendLease', async () => {
    const { spool, clock } = await openSpool()
    const { messageId } = await spool.send(task())
    const [claimed] = await spool.claim('builder', { limit: 10 })
    expect(await spool.claim('builder', { limit: 10 })).toEqual([])
    await spool.extendLease(messageId, 'builder', { receipt: claimed!.lease.receipt, leaseSeconds: 0.1 })
    clock.advance(200)
    expect((await spool.claim('builder', { limit: 10 })).map((c) => c.message.id)).toEqual([messageId])
  })

  it('redelivers a message leased for a moment, even right after a claim that found nothing', async () => {
    const { spool, clock } = await openSpool()
    expect(await spool.claim('builder', { limit: 10 })).toEqual([])
    const { messageId } = await spool.send(task())
    await spool.claim('builder', { limit: 10, leaseSeconds: 0.05 })
    clock.advance(100)
    expect((await spool.claim('builder', { limit: 10 })).map((c) => c.message.id)).toEqual([messageId])
  })

  it('redelivers a message whose lease another connection took and let run out', async () => {
    const { spool, clock, path } = await openSpool()
    const other = await Spool.open({ path: join(path), clock })
    onCleanup(() => other.close())
    expect(await spool.claim('builder', { limit: 10 })).toEqual([])
    const { messageId } = await spool.send(task())
    await other.claim('builder', { limit: 10, leaseSeconds: 0.05 })
    clock.advance(100)
    expect((await spool.claim('builder', { limit: 10 })).map((c) => c.message.id)).toEqual([messageId])
  })

  it('redelivers a run-out lease to a full claim too, in claim order', async () => {
    const { spool, clock } = await openSpool()
    const { messageId } = await spool.send(task('urgent', { priority: 'urgent' }))
    await spool.claim('builder', { limit: 1, leaseSeconds: 0.05 })
    for (let i = 0; i < 3; i++) await spool.send(task(`later ${i}`))
    clock.advance(100)
    const [next] = await spool.claim('builder', { limit: 1 })
    expect(next!.message.id).toBe(messageId)
  })
})
