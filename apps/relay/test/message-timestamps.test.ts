import { RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase, type TestDatabase } from '@agent-comm/postgres/testing'
import { createMessage } from '@agent-comm/protocol'
import { signRequest } from '@agent-comm/transport-http'
import { afterAll, describe, expect, it } from 'vitest'
import { createRelayLogger, relayConfig, startRelay } from '../src/index.js'
import { onCleanup, startTestRelay, tempDir } from './helpers.js'

// A message's TTL counts from its own `timestamp`, which the sender sets. One whose TTL has already run out,
// or would end more than the protocol's ten-year TTL bound from now, is refused with 400 VALIDATION rather
// than stored (to expire at once, or never) — on both stores.

type Answer = {
  status: number
  body: { error?: { code: string; message: string; hint?: string; details?: unknown } }
}

interface Relay {
  now(): number
  send(body: unknown, path?: string): Promise<Answer>
}

const HOUR = 3_600_000

/** A message from architect to builder sent at `at` (ms), with `ttlHours`. */
const message = (at: number | string, ttlHours = 24) => {
  const m = createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'Go' })
  return {
    ...m,
    timestamp: typeof at === 'string' ? at : new Date(at).toISOString(),
    routing: { ...m.routing, ttlHours },
  }
}

function refusesTimestampsItCannotHonour(relay: () => Promise<Relay>) {
  it('refuses a year-0001 timestamp, whose TTL ran out long ago, with VALIDATION naming the field', async () => {
    const r = await relay()
    const sent = await r.send({ message: message('0001-01-01T00:00:00.000Z') })
    expect(sent.status).toBe(400)
    expect(sent.body.error).toMatchObject({ code: 'VALIDATION' })
    expect(sent.body.error?.message).toMatch(
      /^Invalid send: message\.timestamp 0001-01-01T00:00:00\.000Z with ttlHours 24 expired before it reached the relay/,
    )
    expect(sent.body.error?.hint).toMatch(/current time/)
    expect(sent.body.error?.details).toMatchObject({ issues: [{ path: 'message.timestamp' }] })
  })

  it('refuses a year-9999 timestamp, and one whose TTL would end more than ten years from now', async () => {
    const r = await relay()
    for (const [at, ttl] of [
      ['9999-12-31T23:59:59.999Z', 24],
      [new Date(r.now() + 2 * HOUR).toISOString(), 24 * 365 * 10],
    ] as const) {
      const sent = await r.send({ message: message(at, ttl) })
      expect(sent.status).toBe(400)
      expect(sent.body.error?.code).toBe('VALIDATION')
      expect(sent.body.error?.message).toMatch(
        /would expire more than 87600 hours \(ten years\) after the relay's clock/,
      )
      expect(sent.body.error?.hint).toMatch(/clock/)
    }
  })

  it('refuses a message whose ttlHours ran out since its timestamp, in a batch too (naming the item)', async () => {
    const r = await relay()
    const stale = await r.send({ message: message(r.now() - 2 * HOUR, 1) })
    expect(stale.status).toBe(400)
    expect(stale.body.error?.message).toMatch(/with ttlHours 1 expired before it reached the relay/)
    const batch = await r.send(
      { items: [{ message: message(r.now()) }, { message: message('9999-01-01T00:00:00.000Z') }] },
      '/api/v1/messages/batch',
    )
    expect(batch.status).toBe(400)
    expect(batch.body.error?.message).toMatch(/^Invalid send: items\.1\.message\.timestamp 9999/)
  })

  it('accepts a clock ahead (a day, as far as the TTL bound allows) and a message sent an hour ago that is still live', async () => {
    const r = await relay()
    expect((await r.send({ message: message(r.now() + 4 * 60_000) })).status).toBe(200)
    expect((await r.send({ message: message(r.now() + 24 * HOUR) })).status).toBe(200)
    expect((await r.send({ message: message(r.now() - HOUR) })).status).toBe(200)
  })
}

describe('message timestamps at the relay on SQLite', () => {
  refusesTimestampsItCannotHonour(async () => {
    const relay = await startTestRelay({ listen: false })
    return {
      now: () => relay.clock.now(),
      async send(body, path = '/api/v1/messages') {
        const response = await relay.signed('architect', 'POST', path, body)
        return { status: response.statusCode, body: response.json() }
      },
    }
  })
})

const db: TestDatabase = await createTestDatabase({ name: 'relay_timestamps' })
afterAll(() => db.drop())
let schemas = 0

describe.skipIf(db.kind !== 'server')('message timestamps at the relay on PostgreSQL', () => {
  refusesTimestampsItCannotHonour(async () => {
    const relay = await startRelay(
      relayConfig({
        dataDir: tempDir(),
        port: 0,
        databaseUrl: db.url,
        postgresSchema: `relay_ts_${++schemas}`,
        secretsKey: RelaySecretsKey.generate().toBase64(),
        rateLimitPerMinute: 0,
      }),
      { logger: createRelayLogger({ level: 'silent' }) },
    )
    onCleanup(() => relay.close())
    const secret = (await relay.secrets.generate('architect')).secret
    await relay.secrets.generate('builder')
    return {
      now: () => Date.now(),
      async send(body, path = '/api/v1/messages') {
        const payload = JSON.stringify(body)
        const headers = signRequest(secret, {
          method: 'POST',
          path,
          body: payload,
          agentId: 'architect',
          timestamp: Date.now(),
        })
        const response = await relay.app.inject({
          method: 'POST',
          url: path,
          headers: { ...headers, 'content-type': 'application/json' },
          payload,
        })
        return { status: response.statusCode, body: response.json() }
      },
    }
  })
})
