// A client newer than its relay: the relay answers what its version knows. The bodies below are what a relay
// built from commit 4ffc863 (before idempotency keys and reply claims) answered this client's requests
// with, captured from that relay, so the test does not need an old build.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMessage, ManualClock, ValidationError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { OLDER_RELAY, RelayClient, RelayError } from '../src/index.js'
import { onCleanup } from './helpers.js'

/** What the old relay answered an unknown endpoint (its not-found handler, unchanged since). */
function noEndpoint(method: string, path: string) {
  return {
    status: 404,
    body: {
      error: {
        code: 'NOT_FOUND',
        message: `No endpoint ${method} ${path}`,
        hint: 'The API is under /api/v1; GET /api/v1/openapi.json lists every endpoint.',
      },
    },
  }
}

/** What the old relay answered a send carrying an idempotency key: its strict body schema's issue. */
const unknownKey = {
  status: 400,
  body: {
    error: {
      code: 'VALIDATION',
      message: 'Invalid request body: Unrecognized key: "idempotencyKey"',
      hint: 'Change the input as the error says and try again.',
      details: { issues: [{ path: '(root)', message: 'Unrecognized key: "idempotencyKey"' }] },
    },
  },
}

/** A relay of an older version, answering every request as `answer` says. */
async function olderRelay(
  answer: (method: string, path: string) => { status: number; body: unknown },
): Promise<string> {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      const { status, body } = answer(request.method ?? 'GET', (request.url ?? '').split('?')[0] ?? '')
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(JSON.stringify(body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  onCleanup(() => server.closeAllConnections())
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function client(baseUrl: string) {
  const c = new RelayClient({
    baseUrl,
    secretFor: () => 'builder-secret-0000000000',
    clock: new ManualClock(Date.UTC(2026, 10, 30)),
    retryDelayMs: 1,
  })
  onCleanup(() => c.close())
  return c
}

async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error('the call succeeded')
    },
    (error: unknown) => error,
  )
}

describe('a client newer than its relay', () => {
  it('says the relay is older, and to upgrade it first, when the relay has no endpoint the client calls', async () => {
    const url = await olderRelay(noEndpoint)
    const error = await failure(client(url).claimReply('builder', 'msg_01M8NYMNTY7YQ1PECE8XRAJ44B'))
    expect(error).toBeInstanceOf(RelayError)
    expect(error).toMatchObject({
      code: 'CONFIG',
      relayCode: 'NOT_FOUND',
      status: 404,
      message: `The relay at ${url} has no endpoint POST /api/v1/agents/builder/replies/msg_01M8NYMNTY7YQ1PECE8XRAJ44B/claim: it runs an older agent-comm than this client`,
      hint: `Upgrade the relay at ${url} to this client's version (upgrade relays before their clients), or use a client of the relay's version until then.`,
      details: { reason: OLDER_RELAY, relayCode: 'NOT_FOUND', status: 404 },
    })
  })

  it('names the URL with its path prefix when the relay sits under one', async () => {
    const url = await olderRelay(noEndpoint)
    const error = await failure(
      client(`${url}/relay`).claimReply('builder', 'msg_01M8NYMNTY7YQ1PECE8XRAJ44B'),
    )
    expect((error as RelayError).message).toBe(
      `The relay at ${url}/relay has no endpoint POST /relay/api/v1/agents/builder/replies/msg_01M8NYMNTY7YQ1PECE8XRAJ44B/claim: it runs an older agent-comm than this client`,
    )
  })

  it('names the field an older relay does not know, keeping the VALIDATION code and its issues', async () => {
    const url = await olderRelay(() => unknownKey)
    const message = createMessage({ fromAgent: 'builder', toAgent: 'tester', body: 'keyed' })
    const error = await failure(client(url).send(message, { idempotencyKey: 'order-42' }))
    expect(error).toBeInstanceOf(ValidationError)
    const refused = error as ValidationError
    expect(refused.code).toBe('VALIDATION')
    expect(refused.message).toBe(
      `The relay at ${url} does not know idempotencyKey (sent by POST /api/v1/messages): it runs an older agent-comm than this client. The relay said: Invalid request body: Unrecognized key: "idempotencyKey"`,
    )
    expect(refused.hint).toMatch(/^Upgrade the relay at .* \(upgrade relays before their clients\)/)
    expect(refused.details).toMatchObject({ reason: OLDER_RELAY, unknownFields: ['idempotencyKey'] })
    expect(refused.issues).toEqual([{ path: '(root)', message: 'Unrecognized key: "idempotencyKey"' }])
  })

  it('names nested unknown fields by their path, several at once', async () => {
    const url = await olderRelay(() => ({
      status: 400,
      body: {
        error: {
          code: 'VALIDATION',
          message: 'Invalid request body: Unrecognized keys: "from", "operator"',
          details: { issues: [{ path: 'options', message: 'Unrecognized keys: "from", "operator"' }] },
        },
      },
    }))
    const error = await failure(client(url).claimReply('builder', 'msg_01M8NYMNTY7YQ1PECE8XRAJ44B'))
    expect((error as ValidationError).details).toMatchObject({
      unknownFields: ['options.from', 'options.operator'],
    })
    expect((error as ValidationError).message).toMatch(
      /does not know options\.from, options\.operator \(sent by/,
    )
  })

  it('leaves a refusal that does not show an older relay as the relay sent it', async () => {
    const url = await olderRelay(() => ({
      status: 400,
      body: {
        error: {
          code: 'VALIDATION',
          message: 'Invalid request body: limit: must be at most 100',
          details: { issues: [{ path: 'limit', message: 'must be at most 100' }] },
        },
      },
    }))
    const error = await failure(client(url).claim('builder', { limit: 5 }))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).message).toBe('Invalid request body: limit: must be at most 100')
    expect((error as ValidationError).details.reason).toBeUndefined()
  })
})
