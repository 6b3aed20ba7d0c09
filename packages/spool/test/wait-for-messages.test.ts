import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Spool } from '../src/index.js'
import { onCleanup, tempDir } from './helpers.js'
import { runFixture } from './processes.js'

/**
 * A safety tick far beyond any test's run: a wait that resolves proves the wake came from the database change
 * never from the fallback poll. (Below 2^31 ms, which Node would clamp to 1 ms.)
 */
const NO_SAFETY_TICK_MS = 1_000_000_000

// A wait that must wake has no timeout of its own: on a busy machine any fixed bound could pass before the
// event does. A wait that never wakes fails the test through vitest's test timeout instead. The waits within
// one process (at once, on a send, on a delay, timeout, abort, close) are in @agent-comm/spool-contract.
describe('waitForMessages', () => {
  it('wakes when another process on the same file sends, without polling every few ms', async () => {
    const path = join(tempDir(), 'push.db')
    const spool = await Spool.open({ path, wakeIntervalMs: NO_SAFETY_TICK_MS })
    onCleanup(() => spool.close())
    const waiting = spool.waitForMessages('builder')
    const { sentAt } = await runFixture<{ sentAt: number }>('send.mjs', [path, 'architect', 'builder', 'hi'])
    expect(await waiting).toBe(true)
    expect(Date.now()).toBeGreaterThanOrEqual(sentAt - 5)
    expect(await spool.claim('builder')).toHaveLength(1)
  })
})
