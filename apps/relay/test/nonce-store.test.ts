import { describe, expect, it } from 'vitest'
import type { NonceStore } from '../src/index.js'
import { errorOf, startTestRelay } from './helpers.js'

/**
 * A nonce store that answers every call with a promise, as one on a database server would: the relay must
 * await it, not read a pending promise as "first seen".
 */
class AsyncNonceStore implements NonceStore {
  readonly seen = new Set<string>()
  flushes = 0
  closed = false

  async remember(agentId: string, nonce: string, timestamp: number): Promise<boolean> {
    await Promise.resolve()
    const key = `${timestamp}\n${agentId}\n${nonce}`
    if (this.seen.has(key)) return false
    this.seen.add(key)
    return true
  }

  async prune(): Promise<number> {
    return 0
  }

  async flush(): Promise<void> {
    this.flushes += 1
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

describe('a nonce store that answers with promises', () => {
  it('is awaited: a replayed request is refused with 409 AUTH_REPLAY, and the store is flushed on close', async () => {
    const nonces = new AsyncNonceStore()
    const relay = await startTestRelay({ listen: false, nonces })
    const path = '/api/v1/agents/builder/claim'
    const first = await relay.signed('builder', 'POST', path, {}, { nonce: 'n-async-store-0001' })
    expect(first.statusCode).toBe(200)
    expect(nonces.seen.size).toBe(1)
    const replay = await relay.signed('builder', 'POST', path, {}, { nonce: 'n-async-store-0001' })
    expect(replay.statusCode).toBe(409)
    expect(errorOf(replay).code).toBe('AUTH_REPLAY')
    await relay.close()
    expect(nonces.flushes).toBe(1)
    expect(nonces.closed).toBe(true)
  })
})
