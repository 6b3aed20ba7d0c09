import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { LeaseLostError, ManualClock, ValidationError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { HttpTransport, RelayClient, RelayError } from '../src/index.js'
import { onCleanup } from './helpers.js'

type Handler = (request: IncomingMessage & { body: string }, response: ServerResponse, count: number) => void

/** A stand-in for the relay (the external system here): records requests and answers as `handler` says. */
async function fakeRelay(handler: Handler) {
  const requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = []
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => {
      body += chunk
    })
    request.on('end', () => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body })
      handler(Object.assign(request, { body }), response, requests.length)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  onCleanup(() => server.closeAllConnections())
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

const ackBody = { messageId: 'msg_1', recipient: 'builder', status: 'acked', alreadyAcked: false }

function client(url: string, extra: Partial<ConstructorParameters<typeof RelayClient>[0]> = {}) {
  const c = new RelayClient({
    baseUrl: url,
    secretFor: (id) => (id === 'builder' ? 'builder-secret-0000000000' : undefined),
    clock: new ManualClock(Date.UTC(2026, 1, 3)),
    retryDelayMs: 1,
    ...extra,
  })
  onCleanup(() => c.close())
  return c
}

describe('RelayClient', () => {
  it('signs every request as the agent it acts for, and keeps connections alive', async () => {
    const relay = await fakeRelay((_req, res) => json(res, 200, ackBody))
    const c = client(relay.url)
    await c.ack('msg_1', 'builder', { receipt: 'r1' })
    await c.ack('msg_1', 'builder', { receipt: 'r1' })
    expect(
      relay.requests.map((r) => [r.method, r.url, r.headers['x-agent-id'], r.headers.connection]),
    ).toEqual([
      ['POST', '/api/v1/agents/builder/messages/msg_1/ack', 'builder', 'keep-alive'],
      ['POST', '/api/v1/agents/builder/messages/msg_1/ack', 'builder', 'keep-alive'],
    ])
    expect(relay.requests[0]?.headers['x-signature']).toMatch(/^[0-9a-f]{64}$/)
    expect(relay.requests[0]?.headers['x-nonce']).not.toBe(relay.requests[1]?.headers['x-nonce'])
  })

  it('retries an idempotent call after the connection dropped, signing each attempt afresh', async () => {
    const relay = await fakeRelay((req, res, count) =>
      count < 3 ? req.socket.destroy() : json(res, 200, ackBody),
    )
    expect(await client(relay.url).ack('msg_1', 'builder')).toEqual(ackBody)
    expect(relay.requests).toHaveLength(3)
    expect(new Set(relay.requests.map((r) => r.headers['x-nonce'])).size).toBe(3)
  })

  it('does not retry a call that is not idempotent once the relay may have handled it', async () => {
    const relay = await fakeRelay((req) => req.socket.destroy())
    await expect(client(relay.url).nack('msg_1', 'builder')).rejects.toMatchObject({
      code: 'STORAGE',
      relayCode: 'UNAVAILABLE',
    })
    expect(relay.requests).toHaveLength(1)
  })

  it('retries when the relay cannot be reached, then says so with the URL', async () => {
    const relay = await fakeRelay(() => {})
    const c = client(relay.url.replace(/:\d+$/, ':1'), { retries: 2 })
    const error = await c.claim('builder').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RelayError)
    expect(error).toMatchObject({
      code: 'STORAGE',
      relayCode: 'UNAVAILABLE',
      details: { networkCode: 'ECONNREFUSED' },
    })
    expect((error as Error).message).toContain('127.0.0.1:1')
  })

  it('turns error bodies back into the typed errors the local transports throw', async () => {
    const answers: [number, unknown][] = [
      [
        409,
        {
          error: { code: 'LEASE_LOST', message: 'lost', details: { messageId: 'msg_1', agentId: 'builder' } },
        },
      ],
      [
        400,
        {
          error: {
            code: 'VALIDATION',
            message: 'bad',
            details: { issues: [{ path: 'limit', message: 'too big' }] },
          },
        },
      ],
      [401, { error: { code: 'UNAUTHENTICATED', message: 'who are you' } }],
      [429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }],
      // A proxy's 502 is retried (an ack is idempotent), then reported: answered to every retry.
      [502, '<html>bad gateway</html>'],
    ]
    const relay = await fakeRelay((_req, res, count) => {
      const [status, body] = answers[Math.min(count, answers.length) - 1]!
      if (typeof body === 'string') {
        res.writeHead(status)
        res.end(body)
      } else json(res, status, body)
    })
    const c = client(relay.url)
    const lost = await c.ack('msg_1', 'builder').catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(LeaseLostError)
    const invalid = await c.ack('msg_1', 'builder').catch((e: unknown) => e)
    expect(invalid).toBeInstanceOf(ValidationError)
    expect((invalid as ValidationError).issues).toEqual([{ path: 'limit', message: 'too big' }])
    await expect(c.ack('msg_1', 'builder')).rejects.toMatchObject({
      code: 'CONFIG',
      relayCode: 'UNAUTHENTICATED',
      status: 401,
    })
    await expect(c.ack('msg_1', 'builder')).rejects.toMatchObject({
      code: 'STORAGE',
      relayCode: 'RATE_LIMITED',
      status: 429,
    })
    await expect(c.ack('msg_1', 'builder')).rejects.toMatchObject({
      code: 'STORAGE',
      relayCode: 'UNAVAILABLE',
      status: 502,
    })
  })

  it('names the environment variable to set when it holds no secret for the agent', async () => {
    const relay = await fakeRelay((_req, res) => json(res, 200, ackBody))
    await expect(client(relay.url).ack('msg_1', 'agent-b')).rejects.toMatchObject({
      code: 'CONFIG',
      hint: expect.stringContaining('AGENT_COMM_SECRET_AGENT_B'),
    })
    expect(relay.requests).toHaveLength(0)
  })

  it('keeps a path prefix of the base URL and signs it', async () => {
    const relay = await fakeRelay((_req, res) => json(res, 200, ackBody))
    await client(`${relay.url}/relay/`).ack('msg_1', 'builder')
    expect(relay.requests[0]?.url).toBe('/relay/api/v1/agents/builder/messages/msg_1/ack')
  })

  it('stops waiting when the transport closes', async () => {
    const relay = await fakeRelay(() => {})
    const transport = new HttpTransport({ client: client(relay.url) })
    const waiting = transport.waitForMessages('builder', { timeoutMs: 60_000 })
    // Closes once the long poll is at the relay, rather than after a sleep a busy machine may outlast.
    await expect.poll(() => relay.requests.length).toBe(1)
    await transport.close()
    expect(await waiting).toBe(false)
    await expect(transport.claim('builder')).rejects.toMatchObject({ code: 'CLOSED' })
  })
})

describe('RelayClient against an overloaded relay', () => {
  /** What an overloaded relay answers a request it shed (apps/relay's overload plugin). */
  const shed = (response: ServerResponse, retryAfter: string) => {
    response.writeHead(503, { 'content-type': 'application/json', 'retry-after': retryAfter })
    response.end(
      JSON.stringify({
        error: {
          code: 'UNAVAILABLE',
          message: 'The relay is overloaded (its event loop is running late) and did not handle this request',
          hint: 'Retry after 2 s: nothing was done, so the request may be sent again as it is.',
          details: { overloaded: true, pressure: 'eventLoopDelay', retryAfterSeconds: 2 },
        },
      }),
    )
  }
  /** A client whose waits between attempts are recorded, not slept. */
  const recording = (url: string, extra: Partial<ConstructorParameters<typeof RelayClient>[0]> = {}) => {
    const waits: number[] = []
    const c = client(url, {
      sleep: async (ms) => {
        waits.push(ms)
      },
      ...extra,
    })
    return { c, waits }
  }

  it('sends a claim it shed again after the Retry-After the relay gave, though a claim is not idempotent', async () => {
    const relay = await fakeRelay((_req, res, n) =>
      n === 1 ? shed(res, '3') : json(res, 200, { messages: [] }),
    )
    const { c, waits } = recording(relay.url)
    expect(await c.claim('builder')).toEqual([])
    expect(relay.requests).toHaveLength(2)
    expect(waits).toEqual([3000])
  })

  it('waits no longer than maxRetryAfterMs, whatever Retry-After says', async () => {
    const relay = await fakeRelay((_req, res, n) => (n === 1 ? shed(res, '3600') : json(res, 200, ackBody)))
    const { c, waits } = recording(relay.url, { maxRetryAfterMs: 500 })
    await c.ack('msg_1', 'builder', { receipt: 'r1' })
    expect(waits).toEqual([500])
  })

  it("gives up once its retries are spent, with the relay's message and hint and the attempts made", async () => {
    const relay = await fakeRelay((_req, res) => shed(res, '1'))
    const { c, waits } = recording(relay.url, { retries: 2 })
    const error = await c.claim('builder').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RelayError)
    expect(error).toMatchObject({
      code: 'STORAGE',
      relayCode: 'UNAVAILABLE',
      status: 503,
      message: expect.stringMatching(/overloaded.*refused all 3 attempts/),
      hint: expect.stringContaining('Retry after 2 s'),
      details: expect.objectContaining({ overloaded: true, attempts: 3 }),
    })
    expect(relay.requests).toHaveLength(3)
    expect(waits).toEqual([1000, 1000])
  })

  it('still sends a claim only once on a 503 that is not a shed request (the relay may have acted on it)', async () => {
    const relay = await fakeRelay((_req, res) =>
      json(res, 503, {
        error: { code: 'UNAVAILABLE', message: "The relay's database is unavailable right now" },
      }),
    )
    const { c, waits } = recording(relay.url)
    await expect(c.claim('builder')).rejects.toMatchObject({ relayCode: 'UNAVAILABLE', status: 503 })
    expect(relay.requests).toHaveLength(1)
    expect(waits).toEqual([])
  })
})
