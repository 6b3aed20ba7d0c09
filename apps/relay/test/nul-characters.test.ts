import { RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase, type TestDatabase } from '@agent-comm/postgres/testing'
import { createMessage } from '@agent-comm/protocol'
import { signRequest } from '@agent-comm/transport-http'
import type { FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { createRelayLogger, relayConfig, startRelay } from '../src/index.js'
import { onCleanup, startTestRelay, tempDir } from './helpers.js'

// PostgreSQL's `text` cannot hold NUL (U+0000) and SQLite's can: the relay refuses it in every free-text
// field up front, with the same 400 VALIDATION on both stores, rather than a 500 on PostgreSQL only.

const NUL_ISSUE = 'must not contain NUL characters (U+0000)'

/** A relay as the tests call it: a signed request as `agentId`, answered with status and parsed body. */
interface Relay {
  signed(
    agentId: string,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: { error?: { code: string; message: string; hint?: string } } }>
}

function relayOn(app: FastifyInstance, secrets: Record<string, string>): Relay {
  return {
    async signed(agentId, method, path, body) {
      const payload = body === undefined ? '' : JSON.stringify(body)
      const headers = signRequest(secrets[agentId]!, {
        method,
        path,
        body: payload,
        agentId,
        timestamp: Date.now(),
      })
      const response = await app.inject({
        method,
        url: path,
        headers: payload === '' ? headers : { ...headers, 'content-type': 'application/json' },
        ...(payload === '' ? {} : { payload }),
      })
      return { status: response.statusCode, body: response.json() }
    },
  }
}

/** A valid wire message from architect to builder, with `fields` put in as they are (unchecked). */
const message = (fields: { subject?: string; body?: string } = {}) => ({
  ...createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'Go' }),
  ...fields,
})

/** The cases every store must answer alike: each a request with NUL in one field, and the field it names. */
function refusesNulEverywhere(relay: () => Promise<Relay>) {
  it('refuses NUL in a sent message body or subject with 400 VALIDATION naming the field', async () => {
    const r = await relay()
    const sent = await r.signed('architect', 'POST', '/api/v1/messages', {
      message: message({ body: 'a\u0000b' }),
    })
    expect(sent.status).toBe(400)
    expect(sent.body.error?.code).toBe('VALIDATION')
    expect(sent.body.error?.message).toContain(`message.body: ${NUL_ISSUE}`)
    expect(sent.body.error?.hint).toContain('message.body')
    const batch = await r.signed('architect', 'POST', '/api/v1/messages/batch', {
      items: [{ message: message() }, { message: message({ subject: '\u0000' }) }],
    })
    expect(batch.status).toBe(400)
    expect(batch.body.error?.message).toContain(`items.1.message.subject: ${NUL_ISSUE}`)
  })

  it('refuses NUL in a nack reason, a device and a device filter with 400 VALIDATION', async () => {
    const r = await relay()
    const sent = await r.signed('architect', 'POST', '/api/v1/messages', { message: message() })
    expect(sent.status).toBe(200)
    const claimed = await r.signed('builder', 'POST', '/api/v1/agents/builder/claim', {})
    expect(claimed.status).toBe(200)
    const messageId = (sent.body as unknown as { messageId: string }).messageId
    const nack = await r.signed('builder', 'POST', `/api/v1/agents/builder/messages/${messageId}/nack`, {
      reason: 'bad\u0000input',
    })
    expect(nack.status).toBe(400)
    expect(nack.body.error?.message).toContain(`reason: ${NUL_ISSUE}`)
    const receipt = await r.signed('builder', 'POST', `/api/v1/agents/builder/messages/${messageId}/ack`, {
      receipt: 'r\u0000',
    })
    expect(receipt.status).toBe(400)
    const register = await r.signed('builder', 'PUT', '/api/v1/agents/builder', { device: 'lap\u0000top' })
    expect(register.status).toBe(400)
    expect(register.body.error?.message).toContain(`device: ${NUL_ISSUE}`)
    const filter = await r.signed('builder', 'GET', '/api/v1/agents?device=lap%00top')
    expect(filter.status).toBe(400)
    expect(filter.body.error?.message).toContain(`device: ${NUL_ISSUE}`)
  })

  it('refuses a conversation id with NUL or other characters no id may hold, as the message route does', async () => {
    const r = await relay()
    for (const id of ['abc%00def', '%00', '%E2%80%AE', 'a%20b']) {
      const response = await r.signed('builder', 'GET', `/api/v1/conversations/${id}`)
      expect(response.status, id).toBe(400)
      expect(response.body.error?.code).toBe('VALIDATION')
      expect(response.body.error?.message).toContain('may contain only letters, digits')
    }
    expect((await r.signed('builder', 'GET', '/api/v1/conversations/conv_x')).status).toBe(200)
  })
}

describe('NUL characters at the relay on SQLite', () => {
  refusesNulEverywhere(async () => {
    const relay = await startTestRelay({ listen: false })
    return {
      async signed(agentId, method, path, body) {
        const response = await relay.signed(agentId, method, path, body)
        return { status: response.statusCode, body: response.json() }
      },
    }
  })
})

const db: TestDatabase = await createTestDatabase({ name: 'relay_nul' })
afterAll(async () => {
  await db.drop()
})

describe.skipIf(db.kind !== 'server')('NUL characters at the relay on PostgreSQL', () => {
  let schemas = 0
  refusesNulEverywhere(async () => {
    const relay = await startRelay(
      relayConfig({
        dataDir: tempDir(),
        port: 0,
        databaseUrl: db.url,
        postgresSchema: `relay_nul_${++schemas}`,
        secretsKey: RelaySecretsKey.generate().toBase64(),
        rateLimitPerMinute: 0,
      }),
      { logger: createRelayLogger({ level: 'silent' }) },
    )
    onCleanup(() => relay.close())
    const secrets: Record<string, string> = {}
    for (const id of ['architect', 'builder']) secrets[id] = (await relay.secrets.generate(id)).secret
    return relayOn(relay.app, secrets)
  })
})
