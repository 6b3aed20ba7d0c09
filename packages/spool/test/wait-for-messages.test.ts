import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Spool } from '../src/index.js'
import { onCleanup, openSpool, task, tempDir } from './helpers.js'
import { runFixture } from './processes.js'

describe('waitForMessages', () => {
  it('resolves at once when a message is already waiting', async () => {
    const { spool } = await openSpool()
    await spool.send(task())
    expect(await spool.waitForMessages('builder', { timeoutMs: 0 })).toBe(true)
  })

  it('resolves as soon as this process sends to the agent', async () => {
    const { spool } = await openSpool()
    const waiting = spool.waitForMessages('builder', { timeoutMs: 10_000 })
    await spool.send({ fromAgent: 'x', toAgent: 'someone-else', body: 'not for builder' })
    await spool.send(task())
    expect(await waiting).toBe(true)
  })

  it('resolves false when the timeout passes with nothing for the agent', async () => {
    const { spool } = await openSpool()
    await spool.send({ fromAgent: 'x', toAgent: 'someone-else', body: 'not for builder' })
    expect(await spool.waitForMessages('builder', { timeoutMs: 50 })).toBe(false)
  })

  it('resolves false when aborted, and when the spool closes', async () => {
    const { spool } = await openSpool()
    const controller = new AbortController()
    const aborted = spool.waitForMessages('builder', { signal: controller.signal })
    controller.abort()
    expect(await aborted).toBe(false)
    const closing = spool.waitForMessages('builder')
    await spool.close()
    expect(await closing).toBe(false)
  })

  it('wakes when another process on the same file sends, without polling every few ms', async () => {
    const path = join(tempDir(), 'push.db')
    // A long safety interval proves the wake-up comes from the file change, not from the fallback tick.
    const spool = await Spool.open({ path, wakeIntervalMs: 60_000 })
    onCleanup(() => spool.close())
    const started = Date.now()
    const waiting = spool.waitForMessages('builder', { timeoutMs: 20_000 })
    const { sentAt } = await runFixture<{ sentAt: number }>('send.mjs', [path, 'architect', 'builder', 'hi'])
    expect(await waiting).toBe(true)
    const woke = Date.now()
    expect(woke - started).toBeLessThan(15_000)
    expect(woke).toBeGreaterThanOrEqual(sentAt - 5)
    expect(await spool.claim('builder')).toHaveLength(1)
  })

  it('wakes when a delayed message becomes visible', async () => {
    const path = join(tempDir(), 'delay.db')
    const spool = await Spool.open({ path, wakeIntervalMs: 60_000 })
    onCleanup(() => spool.close())
    await spool.send(task(), { delaySeconds: 0.2 })
    const started = Date.now()
    expect(await spool.waitForMessages('builder', { timeoutMs: 10_000 })).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect(await spool.claim('builder')).toHaveLength(1)
  })
})
