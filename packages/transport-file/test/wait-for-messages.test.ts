import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileTransport } from '../src/index.js'
import { onCleanup, openTransport, tempDir } from './helpers.js'
import { runFixture } from './processes.js'

/**
 * A safety tick far beyond any test's run: a wait that resolves proves the wake came from the folder watch
 * or the due-time timer, never from the fallback poll. (Below 2^31 ms, which Node would clamp to 1 ms.)
 */
const NO_SAFETY_TICK_MS = 1_000_000_000

/** Lets every pending immediate and I/O callback run, so a wait that could resolve now has done so. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((done) => setImmediate(done))
}

describe('waitForMessages on files', () => {
  // The waits below have no timeout of their own: on a busy machine any fixed bound could pass before the
  // event does. A wait that never wakes fails the test through vitest's test timeout instead.
  it('wakes when another process sends, from the file event rather than a poll', async () => {
    const root = join(tempDir(), 'queue')
    const transport = new FileTransport({ root, wakeIntervalMs: NO_SAFETY_TICK_MS })
    onCleanup(() => transport.close())
    const waiting = transport.waitForMessages('builder')
    const { sentAt } = await runFixture<{ sentAt: number }>('send.mjs', [root, 'architect', 'builder', 'hi'])
    expect(await waiting).toBe(true)
    expect(Date.now()).toBeGreaterThanOrEqual(sentAt - 5)
    expect(await transport.claim('builder')).toHaveLength(1)
  })

  it('wakes when a delayed message becomes due, and not before', async () => {
    const { transport, clock, message } = openTransport({ wakeIntervalMs: NO_SAFETY_TICK_MS })
    await transport.send(message(), { delaySeconds: 0.2 })
    let woke = false
    const waiting = transport.waitForMessages('builder').then((found) => {
      woke = true
      return found
    })
    await settle()
    // However long the real timer takes, the transport's clock says the message is not due yet.
    clock.advance(199)
    await settle()
    expect(woke).toBe(false)
    clock.advance(1)
    expect(await waiting).toBe(true)
    expect(await transport.claim('builder')).toHaveLength(1)
  })

  it('wakes when a lease runs out, and not before', async () => {
    const { transport, clock, message } = openTransport({ wakeIntervalMs: NO_SAFETY_TICK_MS })
    await transport.send(message())
    await transport.claim('builder', { leaseSeconds: 0.2 })
    let woke = false
    const waiting = transport.waitForMessages('builder').then((found) => {
      woke = true
      return found
    })
    await settle()
    clock.advance(199)
    await settle()
    expect(woke).toBe(false)
    clock.advance(1)
    expect(await waiting).toBe(true)
    expect((await transport.claim('builder'))[0]?.lease.attempt).toBe(2)
  })

  it('lets many waits on one agent share a watch and all resolve', async () => {
    const { transport, message } = openTransport()
    const waits = Array.from({ length: 5 }, () => transport.waitForMessages('builder'))
    // Nothing is ever sent to the reviewer, so its wait ends on its timeout however slow the machine is.
    const other = transport.waitForMessages('reviewer', { timeoutMs: 100 })
    await transport.send(message())
    expect(await Promise.all(waits)).toEqual([true, true, true, true, true])
    expect(await other).toBe(false)
  })
})
