import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** waitForChange: a live view wakes at a write, its own process's or another's, instead of polling. */
export function changeWaitCases(ctx: SpoolContractContext): void {
  it('wakes at a send, a claim and an ack of the same spool', async () => {
    const { spool } = await ctx.open()
    let woken = spool.waitForChange()
    const sent = await spool.send(task())
    expect(await woken).toBe(true)
    woken = spool.waitForChange()
    const [claimed] = await spool.claim('builder')
    expect(await woken).toBe(true)
    woken = spool.waitForChange()
    await spool.ack(sent.messageId, 'builder', { receipt: claimed!.lease.receipt })
    expect(await woken).toBe(true)
  })

  it('wakes at a send made by another spool on the same storage', async () => {
    const { spool, openAnother } = await ctx.open()
    const other = await openAnother()
    const woken = spool.waitForChange()
    await other.send(task())
    expect(await woken).toBe(true)
  })

  it('resolves false on timeout, on abort and when the spool closes', async () => {
    const { spool } = await ctx.open()
    expect(await spool.waitForChange({ timeoutMs: 0 })).toBe(false)
    const abort = new AbortController()
    const aborted = spool.waitForChange({ signal: abort.signal })
    abort.abort()
    expect(await aborted).toBe(false)
    const closing = spool.waitForChange()
    await spool.close()
    expect(await closing).toBe(false)
  })
}
