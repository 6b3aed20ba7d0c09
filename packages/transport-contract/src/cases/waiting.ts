import { expect, it } from 'vitest'
import type { ContractContext } from '../context.js'

/** Real milliseconds to let pass while a wait must stay pending (the one place the suite uses real time). */
const SETTLE_MS = 30

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Tracks whether a promise has settled yet. */
function track<T>(promise: Promise<T>): { readonly settled: boolean; promise: Promise<T> } {
  const state = { settled: false, promise }
  promise.then(
    () => {
      state.settled = true
    },
    () => {
      state.settled = true
    },
  )
  return state
}

/** waitForMessages, and what close does to waits and later calls. */
export function waitingCases(ctx: ContractContext): void {
  it('resolves waitForMessages at once when a message is waiting', async () => {
    await ctx.send()
    expect(await ctx.transport.waitForMessages('builder', { timeoutMs: 0 })).toBe(true)
    expect(await ctx.transport.waitForMessages('builder', { timeoutMs: 10_000 })).toBe(true)
  })

  it('resolves waitForMessages when a message arrives', async () => {
    const t = ctx.transport
    const started = Date.now()
    const waiting = track(t.waitForMessages('builder', { timeoutMs: 20_000 }))
    await ctx.send({ toAgent: 'reviewer', body: 'not for builder' })
    await pause(SETTLE_MS)
    expect(waiting.settled).toBe(false)
    await ctx.send()
    expect(await waiting.promise).toBe(true)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(await t.claim('builder')).toHaveLength(1)
  })

  it('resolves waitForMessages when a nacked message comes back', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send()
    const [claimed] = await t.claim('builder')
    const waiting = track(t.waitForMessages('builder', { timeoutMs: 20_000 }))
    await pause(SETTLE_MS)
    expect(waiting.settled).toBe(false)
    await t.nack(messageId, 'builder', { receipt: claimed!.lease.receipt, reason: 'retry' })
    expect(await waiting.promise).toBe(true)
  })

  it('times out waitForMessages when nothing arrives for the agent', async () => {
    const t = ctx.transport
    await ctx.send({ toAgent: 'reviewer', body: 'not for builder' })
    await ctx.send({ body: 'later' }, { delaySeconds: 3_600 })
    const started = Date.now()
    expect(await t.waitForMessages('builder', { timeoutMs: 50 })).toBe(false)
    expect(Date.now() - started).toBeGreaterThanOrEqual(40)
  })

  it('does not count a delayed or leased message as waiting until it is claimable', async () => {
    const t = ctx.transport
    await ctx.send({ body: 'delayed' }, { delaySeconds: 30 })
    expect(await t.waitForMessages('builder', { timeoutMs: 0 })).toBe(false)
    ctx.clock.advance(30_000)
    expect(await t.waitForMessages('builder', { timeoutMs: 0 })).toBe(true)
    await t.claim('builder', { leaseSeconds: 10 })
    expect(await t.waitForMessages('builder', { timeoutMs: 0 })).toBe(false)
    ctx.clock.advance(10_000)
    expect(await t.waitForMessages('builder', { timeoutMs: 0 })).toBe(true)
  })

  it('resolves waitForMessages with false when aborted', async () => {
    const t = ctx.transport
    const before = new AbortController()
    before.abort()
    expect(await t.waitForMessages('builder', { signal: before.signal })).toBe(false)
    const controller = new AbortController()
    const waiting = track(t.waitForMessages('builder', { signal: controller.signal }))
    await pause(SETTLE_MS)
    expect(waiting.settled).toBe(false)
    controller.abort()
    expect(await waiting.promise).toBe(false)
  })

  it('refuses to be used after close and resolves pending waits with false', async () => {
    const t = ctx.transport
    const waiting = track(t.waitForMessages('builder'))
    await pause(SETTLE_MS)
    await t.close()
    expect(await waiting.promise).toBe(false)
    await expect(t.send(ctx.message())).rejects.toMatchObject({ code: 'CLOSED' })
    await expect(t.claim('builder')).rejects.toMatchObject({ code: 'CLOSED' })
    await t.close()
  })
}
