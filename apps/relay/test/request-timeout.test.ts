import { createMessage } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { loadRelayConfig, startRelay } from '../src/index.js'
import { onCleanup, rawRequest, startTestRelay, type TestRelay, tempDir } from './helpers.js'

// A short timeout for the test (the relay's is 60 s), checked as often as it is long: a stalled request is
// answered within about a second. Each test waits for events (a socket closing, a gauge), never for time.
const requestTimeoutMs = 400

/** Sends the headers of a send with a 100-byte body, then the first 11 bytes of it, and stalls. */
function stalledSend(relay: { url: string }): Promise<string> {
  return rawRequest(
    relay.url,
    'POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"message":',
  )
}

/** The relay's parked long polls, from its /metrics. */
async function longPolls(relay: TestRelay): Promise<number> {
  const text = (await relay.app.inject({ method: 'GET', url: '/metrics' })).body
  return Number(/^agent_comm_relay_long_polls (\d+)$/m.exec(text)?.[1] ?? 'NaN')
}

describe('a client that sends part of a request and stalls', () => {
  it('is answered 408 and its connection closed once the request timeout passes', async () => {
    const relay = await startTestRelay({ options: { requestTimeoutMs } })
    const answer = await stalledSend(relay)
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
  }, 60_000)

  it('takes its timeout from the relay configuration (--request-timeout, AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS)', async () => {
    const loaded = loadRelayConfig(
      ['--port', '0', '--data-dir', tempDir(), '--log-level', 'silent', '--request-timeout', '1'],
      {},
    )
    if (loaded.help) throw new Error('unexpected help')
    const relay = await startRelay(loaded.config)
    onCleanup(() => relay.close())
    expect(await stalledSend(relay)).toMatch(/^HTTP\/1\.1 408 /)
  }, 60_000)

  it('does not cut a long poll that outlasts the request timeout: its request was received whole', async () => {
    const relay = await startTestRelay({ options: { requestTimeoutMs } })
    // The relay's clock is a ManualClock: the poll stays parked until a message arrives.
    const parked = relay.client.claim('builder', { waitMs: 30_000 })
    await expect.poll(() => longPolls(relay), { timeout: 30_000 }).toBe(1)
    // A stalled request started after the poll was parked is cut: the timeout has passed for the poll too.
    expect(await stalledSend(relay)).toMatch(/^HTTP\/1\.1 408 /)
    expect(await longPolls(relay)).toBe(1)
    const wake = createMessage(
      { fromAgent: 'architect', toAgent: 'builder', subject: 'Wake', body: 'up' },
      { clock: relay.clock },
    )
    await relay.client.send(wake)
    const [claimed] = await parked
    expect(claimed?.message.id).toBe(wake.id)
  }, 60_000)
})
