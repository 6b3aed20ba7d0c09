import { join } from 'node:path'
import { createMessage } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { FileTransport } from '../src/index.js'
import { onCleanup, openTransport, tempDir } from './helpers.js'

/** A message stamped with the real clock, for the tests that let real time pass. */
const task = () => createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'Implement auth' })

import { runFixture } from './processes.js'

describe('waitForMessages on files', () => {
  it('wakes when another process sends, from the file event rather than a poll', async () => {
    const root = join(tempDir(), 'queue')
    // A long safety interval proves the wake-up comes from the folder watch, not from the fallback tick.
    const transport = new FileTransport({ root, wakeIntervalMs: 60_000 })
    onCleanup(() => transport.close())
    const started = Date.now()
    const waiting = transport.waitForMessages('builder', { timeoutMs: 20_000 })
    const { sentAt } = await runFixture<{ sentAt: number }>('send.mjs', [root, 'architect', 'builder', 'hi'])
    expect(await waiting).toBe(true)
    const woke = Date.now()
    expect(woke - started).toBeLessThan(15_000)
    expect(woke).toBeGreaterThanOrEqual(sentAt - 5)
    expect(await transport.claim('builder')).toHaveLength(1)
  })

  it('wakes when a delayed message becomes due', async () => {
    const root = join(tempDir(), 'queue')
    const transport = new FileTransport({ root, wakeIntervalMs: 60_000 })
    onCleanup(() => transport.close())
    await transport.send(task(), { delaySeconds: 0.2 })
    const started = Date.now()
    expect(await transport.waitForMessages('builder', { timeoutMs: 10_000 })).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect(await transport.claim('builder')).toHaveLength(1)
  })

  it('wakes when a lease runs out', async () => {
    const root = join(tempDir(), 'queue')
    const transport = new FileTransport({ root, wakeIntervalMs: 60_000 })
    onCleanup(() => transport.close())
    await transport.send(task())
    await transport.claim('builder', { leaseSeconds: 0.2 })
    const started = Date.now()
    expect(await transport.waitForMessages('builder', { timeoutMs: 10_000 })).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect((await transport.claim('builder'))[0]?.lease.attempt).toBe(2)
  })

  it('lets many waits on one agent share a watch and all resolve', async () => {
    const { transport, message } = openTransport()
    const waits = Array.from({ length: 5 }, () => transport.waitForMessages('builder', { timeoutMs: 10_000 }))
    const other = transport.waitForMessages('reviewer', { timeoutMs: 100 })
    await transport.send(message())
    expect(await Promise.all(waits)).toEqual([true, true, true, true, true])
    expect(await other).toBe(false)
  })
})
