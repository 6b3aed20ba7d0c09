import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/**
 * A safety tick far beyond any test's run: a wait that resolves proves the wake came from the send or the
 * due-time timer, never from the fallback poll. (Below 2^31 ms, which Node would clamp to 1 ms.)
 */
const NO_SAFETY_TICK_MS = 1_000_000_000

/** Lets every pending immediate and I/O callback run, so a wait that could resolve now has done so. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((done) => setImmediate(done))
}

// Waits that must wake have no timeout of their own: on a busy machine any fixed bound could pass before the
// event does. A wait that never wakes fails the test through vitest's test timeout instead.
/** waitForMessages on one spool: at once, on a send, on a delay running out; false on timeout, abort, close. */
export function waitingCases(ctx: SpoolContractContext): void {
  it('resolves at once when a message is already waiting', async () => {
    const { spool } = await ctx.open()
    await spool.send(task())
    expect(await spool.waitForMessages('builder', { timeoutMs: 0 })).toBe(true)
  })

  it('resolves as soon as the same spool sends to the agent', async () => {
    const { spool } = await ctx.open()
    const waiting = spool.waitForMessages('builder')
    await spool.send({ fromAgent: 'x', toAgent: 'someone-else', body: 'not for builder' })
    await spool.send(task())
    expect(await waiting).toBe(true)
  })

  it('resolves when a nacked message is visible again', async () => {
    const { spool } = await ctx.open({ wakeIntervalMs: NO_SAFETY_TICK_MS })
    const { messageId } = await spool.send(task())
    const [claimed] = await spool.claim('builder')
    const waiting = spool.waitForMessages('builder')
    await spool.nack(messageId, 'builder', { receipt: claimed!.lease.receipt, reason: 'retry' })
    expect(await waiting).toBe(true)
  })

  it('resolves false when the timeout passes with nothing for the agent', async () => {
    const { spool } = await ctx.open()
    await spool.send({ fromAgent: 'x', toAgent: 'someone-else', body: 'not for builder' })
    expect(await spool.waitForMessages('builder', { timeoutMs: 50 })).toBe(false)
  })

  it('does not count leased or delayed messages as waiting', async () => {
    const { spool } = await ctx.open()
    await spool.send(task('leased'))
    await spool.claim('builder')
    await spool.send(task('later'), { delaySeconds: 3_600 })
    expect(await spool.waitForMessages('builder', { timeoutMs: 0 })).toBe(false)
  })

  it('resolves false when aborted, and when the spool closes', async () => {
    const { spool } = await ctx.open()
    const controller = new AbortController()
    const aborted = spool.waitForMessages('builder', { signal: controller.signal })
    controller.abort()
    expect(await aborted).toBe(false)
    const closing = spool.waitForMessages('builder')
    await spool.close()
    expect(await closing).toBe(false)
  })

  it('wakes when a delayed message becomes visible, and not before', async () => {
    const { spool, clock } = await ctx.open({ wakeIntervalMs: NO_SAFETY_TICK_MS })
    await spool.send(task(), { delaySeconds: 0.2 })
    let woke = false
    const waiting = spool.waitForMessages('builder').then((found) => {
      woke = true
      return found
    })
    await settle()
    // However late the real timer fires, the spool's clock says the message is not visible yet.
    clock.advance(199)
    await settle()
    expect(woke).toBe(false)
    clock.advance(1)
    expect(await waiting).toBe(true)
    expect(await spool.claim('builder')).toHaveLength(1)
  })
}
