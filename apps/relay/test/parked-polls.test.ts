import { join } from 'node:path'
import { createMessage, ManualClock } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { SecretStore } from '@agent-comm/secrets'
import { Spool } from '@agent-comm/spool'
import { signRequest } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { createRelay, SqliteNonceStore } from '../src/index.js'
import { ParkedPolls } from '../src/parked-polls.js'
import { onCleanup, T0, tempDir } from './helpers.js'

/** A spool wait that never hears of a message: it ends only on its timeout or abort, recording each call. */
function deafWaits() {
  const calls: { agent: string; signal: AbortSignal }[] = []
  const waitForMessages = (agent: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
    new Promise<boolean>((resolve) => {
      const signal = options.signal ?? new AbortController().signal
      calls.push({ agent, signal })
      const timer = setTimeout(() => resolve(false), options.timeoutMs ?? 0)
      signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve(false)
      })
    })
  return { calls, waitForMessages }
}

describe('parked long polls', () => {
  it('wakes the polls parked for an agent, and only those, then forgets them', async () => {
    const spool = deafWaits()
    const parked = new ParkedPolls(spool)
    const stop = new AbortController()
    const forA = parked.wait('agent-a', 60_000, stop.signal)
    const alsoForA = parked.wait('agent-a', 60_000, stop.signal)
    const forB = parked.wait('agent-b', 60_000, stop.signal)
    expect(parked.size).toBe(3)
    expect(parked.wake(['agent-a', 'agent-c'])).toBe(2)
    expect(await forA).toBe(true)
    expect(await alsoForA).toBe(true)
    expect(parked.size).toBe(1)
    // A wake-up is routine (one per delivered long poll): the spool's wait is stopped with a ready reason,
    // not a DOMException whose stack trace is made on the spot.
    const woken = spool.calls.find((c) => c.agent === 'agent-a')?.signal
    expect(woken?.aborted).toBe(true)
    expect(woken?.reason).not.toBeInstanceOf(DOMException)
    // B's poll is still parked until its own signal ends it: then it reports nothing found.
    expect(spool.calls.find((c) => c.agent === 'agent-b')?.signal.aborted).toBe(false)
    const gone = new Error('the client went away')
    stop.abort(gone)
    expect(await forB).toBe(false)
    expect(spool.calls.find((c) => c.agent === 'agent-b')?.signal.reason).toBe(gone)
    expect(parked.size).toBe(0)
    // Aborted before it starts: no wait at all.
    expect(await parked.wait('agent-a', 60_000, stop.signal)).toBe(false)
    expect(spool.calls).toHaveLength(3)
  })

  it("answers what the spool's own wait finds", async () => {
    const parked = new ParkedPolls({ waitForMessages: async () => true })
    expect(await parked.wait('agent-a', 1000, new AbortController().signal)).toBe(true)
    expect(parked.size).toBe(0)
  })

  it("wakes a long poll with a send through the same relay, without the spool's change watcher", async () => {
    const dir = tempDir()
    const clock = new ManualClock(T0)
    const spool = await Spool.open({ path: join(dir, 'relay.db'), clock })
    const registry = await Registry.open({
      spool,
      clock,
      releaseHeldTo: 'all-agents',
    })
    const store = await SecretStore.open({ path: SecretStore.fileIn(dir), clock })
    const secrets = {
      architect: (await store.generate('architect')).secret,
      builder: (await store.generate('builder')).secret,
    }
    const nonces = spool.openShared(SqliteNonceStore.shared({ clock }))
    // The relay's spool hears of nothing by itself: only the relay's own wake-up can end a wait early.
    const deaf = deafWaits()
    const muted = new Proxy(spool, {
      get(target, property) {
        if (property === 'waitForMessages') return deaf.waitForMessages
        const value = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const app = await createRelay({
      spool: muted,
      registry,
      secrets: store,
      nonces,
      clock,
      // The test runner shares the relay's event loop: its pauses are not the relay's load (see helpers.ts).
      options: { overload: { maxEventLoopDelayMs: 0 } },
    })
    // The order the relay writes its answers in.
    const answered: string[] = []
    app.addHook('onSend', async (request) => {
      answered.push(`${request.method} ${request.routeOptions.url}`)
    })
    onCleanup(async () => {
      await app.close()
      await nonces.close()
      await registry.close()
      await spool.close()
    })
    const signed = (agentId: 'architect' | 'builder', path: string, body: unknown) => {
      const payload = JSON.stringify(body)
      return app.inject({
        method: 'POST',
        url: path,
        headers: {
          ...signRequest(secrets[agentId], {
            method: 'POST',
            path,
            body: payload,
            agentId,
            timestamp: clock.now(),
          }),
          'content-type': 'application/json',
        },
        payload,
      })
    }
    const message = () =>
      createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'Build it' })

    const poll = signed('builder', '/api/v1/agents/builder/claim', { limit: 1, waitMs: 30_000 })
    await expect.poll(() => deaf.calls.length).toBe(1)
    // A delayed message is not claimable yet: the poll stays parked.
    const delayed = await signed('architect', '/api/v1/messages', { message: message(), delaySeconds: 60 })
    expect(delayed.statusCode).toBe(200)
    expect(deaf.calls[0]?.signal.aborted).toBe(false)
    const sent = message()
    expect((await signed('architect', '/api/v1/messages', { message: sent })).statusCode).toBe(200)
    const answer = await poll
    expect(answer.statusCode).toBe(200)
    expect(answer.json().messages.map((c: { message: { id: string } }) => c.message.id)).toEqual([sent.id])
    // The woken poll, which carries the message, is answered before the send that woke it (the delayed
    // send, which woke nothing, was answered at once).
    expect(answered).toEqual([
      'POST /api/v1/messages',
      'POST /api/v1/agents/:agentId/claim',
      'POST /api/v1/messages',
    ])

    // A batch wakes its recipients too.
    const batchPoll = signed('builder', '/api/v1/agents/builder/claim', { limit: 1, waitMs: 30_000 })
    await expect.poll(() => deaf.calls.length).toBe(2)
    const batched = message()
    expect(
      (await signed('architect', '/api/v1/messages/batch', { items: [{ message: batched }] })).statusCode,
    ).toBe(200)
    expect((await batchPoll).json().messages.map((c: { message: { id: string } }) => c.message.id)).toEqual([
      batched.id,
    ])
    expect(answered.slice(3)).toEqual(['POST /api/v1/agents/:agentId/claim', 'POST /api/v1/messages/batch'])
  })
})
