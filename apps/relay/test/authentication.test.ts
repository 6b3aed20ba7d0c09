import { statSync } from 'node:fs'
import { createMessage, ManualClock } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { signRequest } from '@agent-comm/transport-http'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { capturedLogs, errorOf, sentCredentials, startTestRelay, T0, tempDir } from './helpers.js'

/** Every signature and secret these tests put on the wire, to prove none reached a log line. */
const used = sentCredentials
const remember = (...values: string[]): void => {
  used.push(...values)
}

const message = (fromAgent = 'architect', toAgent = 'builder', clock = { now: () => T0 }) =>
  createMessage({ fromAgent, toAgent, subject: 'Task', body: 'Implement auth' }, { clock })

describe('request authentication', () => {
  it('accepts a correctly signed request', async () => {
    const relay = await startTestRelay({ listen: false })
    const res = await relay.signed('builder', 'POST', '/api/v1/agents/builder/claim', { limit: 1 })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ messages: [] })
  })

  it('refuses a request whose body was changed after signing', async () => {
    const relay = await startTestRelay({ listen: false })
    const path = '/api/v1/messages'
    const signedBody = JSON.stringify({ message: message() })
    const headers = signRequest(relay.secrets.architect!, {
      method: 'POST',
      path,
      body: signedBody,
      agentId: 'architect',
      timestamp: relay.clock.now(),
    })
    remember(headers['x-signature']!)
    const tampered = JSON.stringify({ message: { ...message(), body: 'rm -rf /' } })
    const res = await relay.app.inject({
      method: 'POST',
      url: path,
      headers: { ...headers, 'content-type': 'application/json' },
      payload: tampered,
    })
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).code).toBe('UNAUTHENTICATED')
    expect((await relay.spool.stats()).totalMessages).toBe(0)
  })

  it("refuses a signature for one agent's inbox used on another's path", async () => {
    const relay = await startTestRelay({ listen: false })
    await relay.spool.send(message('architect', 'reviewer'))
    const headers = signRequest(relay.secrets.builder!, {
      method: 'POST',
      path: '/api/v1/agents/builder/claim',
      body: '{}',
      agentId: 'builder',
      timestamp: relay.clock.now(),
    })
    remember(headers['x-signature']!)
    const res = await relay.app.inject({
      method: 'POST',
      url: '/api/v1/agents/reviewer/claim',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: '{}',
    })
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).code).toBe('UNAUTHENTICATED')
    expect((await relay.spool.stats()).deliveries.leased).toBe(0)
  })

  it('refuses a replayed request with AUTH_REPLAY, before and after a restart on the same data folder', async () => {
    const dir = tempDir()
    const first = await startTestRelay({ dir, listen: false })
    const path = '/api/v1/agents/builder/claim'
    const headers = signRequest(first.secrets.builder!, {
      method: 'POST',
      path,
      body: '{}',
      agentId: 'builder',
      timestamp: first.clock.now(),
    })
    remember(headers['x-signature']!)
    const replay = (relay: typeof first) =>
      relay.app.inject({
        method: 'POST',
        url: path,
        headers: { ...headers, 'content-type': 'application/json' },
        payload: '{}',
      })
    expect((await replay(first)).statusCode).toBe(200)
    const again = await replay(first)
    expect(again.statusCode).toBe(409)
    expect(errorOf(again).code).toBe('AUTH_REPLAY')
    await first.close()

    const second = await startTestRelay({ dir, clock: first.clock, listen: false })
    expect(second.secrets.builder).toBe(first.secrets.builder)
    const afterRestart = await replay(second)
    expect(afterRestart.statusCode).toBe(409)
    expect(errorOf(afterRestart).code).toBe('AUTH_REPLAY')
  })

  it('keeps nonces in the database until their timestamp leaves the window, then prunes them', async () => {
    const relay = await startTestRelay({ listen: false })
    const count = () =>
      sqliteConnectionOf(relay.spool).prepare('SELECT COUNT(*) FROM relay_nonces').pluck().get()
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    const path = '/api/v1/agents/builder/claim'
    await relay.signed('builder', 'POST', path, {})
    await relay.signed('builder', 'POST', path, {})
    await turn()
    expect(count()).toBe(2)
    relay.clock.advance(300_000)
    await relay.signed('builder', 'POST', path, {})
    await turn()
    expect(count()).toBe(3)
    relay.clock.advance(60_001)
    await relay.signed('builder', 'POST', path, {})
    await turn()
    expect(count()).toBe(2)
  })

  it('keeps nonces for the whole of a wider window: a request signed 400 s ago cannot be replayed at 461 s', async () => {
    const relay = await startTestRelay({ listen: false, options: { authWindowMs: 600_000 } })
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    const path = '/api/v1/agents/builder/claim'
    // The same timestamp and nonce sign the same request again: a replay.
    const send = () =>
      relay.signed('builder', 'POST', path, {}, { timestamp: T0 - 400_000, nonce: 'n-wider-window-0001' })
    expect((await send()).statusCode).toBe(200)
    await turn()
    // A minute later a prune runs (with the next request); the nonce is 461 s old, still inside 600 s.
    relay.clock.advance(61_000)
    expect((await relay.signed('builder', 'POST', path, {})).statusCode).toBe(200)
    await turn()
    const replay = await send()
    expect(replay.statusCode).toBe(409)
    expect(errorOf(replay).code).toBe('AUTH_REPLAY')
  })

  it('keeps nonces for the widest window ever served, so narrowing the window and widening it again reopens no replay', async () => {
    const dir = tempDir()
    const clock = new ManualClock(T0)
    const path = '/api/v1/agents/builder/claim'
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    const relayWith = (authWindowMs: number) =>
      startTestRelay({ listen: false, dir, clock, agents: ['builder'], options: { authWindowMs } })
    const old = { timestamp: T0 - 400_000, nonce: 'n-shrink-then-grow-01' }
    const wide = await relayWith(600_000)
    expect((await wide.signed('builder', 'POST', path, {}, old)).statusCode).toBe(200)
    await wide.close()
    // Narrowed to a minute: opening prunes, and so does a request a minute later.
    const narrow = await relayWith(60_000)
    clock.advance(61_000)
    expect((await narrow.signed('builder', 'POST', path, {})).statusCode).toBe(200)
    await turn()
    await narrow.close()
    // Widened again: the request signed 461 s ago passes the time check, and its nonce must still be known.
    const widened = await relayWith(600_000)
    const replay = await widened.signed('builder', 'POST', path, {}, old)
    expect(replay.statusCode).toBe(409)
    expect(errorOf(replay).code).toBe('AUTH_REPLAY')
  })

  it('writes a request’s nonce before the request has any effect, so a crash cannot reopen its replay', async () => {
    const relay = await startTestRelay({ listen: false })
    const nonce = 'n-durable-before-effect'
    const stored = () =>
      sqliteConnectionOf(relay.spool)
        .prepare('SELECT COUNT(*) FROM relay_nonces WHERE nonce = ?')
        .pluck()
        .get(nonce)
    const storedAtSend: unknown[] = []
    const send = relay.spool.send.bind(relay.spool)
    vi.spyOn(relay.spool, 'send').mockImplementation((...args) => {
      storedAtSend.push(stored())
      return send(...args)
    })
    const res = await relay.signed('architect', 'POST', '/api/v1/messages', { message: message() }, { nonce })
    expect(res.statusCode).toBe(200)
    expect(storedAtSend).toEqual([1])
  })

  it('refuses to act on a request whose nonce cannot be written: 500, and nothing sent', async () => {
    const relay = await startTestRelay({ listen: false })
    sqliteConnectionOf(relay.spool).exec(
      "CREATE TRIGGER no_nonces BEFORE INSERT ON relay_nonces BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    const res = await relay.signed('architect', 'POST', '/api/v1/messages', { message: message() })
    expect(res.statusCode).toBe(500)
    expect(errorOf(res).code).toBe('INTERNAL')
    expect((await relay.spool.stats()).totalMessages).toBe(0)
    sqliteConnectionOf(relay.spool).exec('DROP TRIGGER no_nonces')
  })

  it('refuses what is not correctly signed from an address with too many failed authentications until its window ends, but serves correctly signed requests', async () => {
    const relay = await startTestRelay({
      listen: false,
      options: { authFailureLimit: { max: 3, timeWindowMs: 60_000 } },
    })
    const path = '/api/v1/agents/builder/claim'
    const wrong = 'not-the-builders-secret-at-all'
    remember(wrong)
    const failuresLogged = () => capturedLogs.filter((line) => line.includes('authentication failed')).length
    const logged = failuresLogged()
    for (let i = 0; i < 3; i++) {
      expect((await relay.signed('builder', 'POST', path, {}, { secret: wrong })).statusCode).toBe(401)
    }
    expect(failuresLogged()).toBe(logged + 3)
    // Now wrong signatures and unknown agents from that address are refused outright...
    const unknown = await relay.signed('stranger', 'POST', '/api/v1/agents/stranger/claim', {})
    for (const refused of [
      await relay.signed('builder', 'POST', path, {}, { secret: wrong }),
      await relay.signed('builder', 'POST', path, {}, { secret: wrong }),
      unknown,
      await relay.app.inject({ method: 'POST', url: path, payload: {} }),
    ]) {
      expect(refused.statusCode).toBe(429)
      expect(errorOf(refused).code).toBe('RATE_LIMITED')
      expect(refused.headers['retry-after']).toBe('60')
    }
    // ...while an agent that signs correctly from the same address (a NAT, a proxy, the same host) is served.
    expect((await relay.signed('builder', 'POST', path, {})).statusCode).toBe(200)
    expect((await relay.signed('reviewer', 'POST', '/api/v1/agents/reviewer/claim', {})).statusCode).toBe(200)
    expect(failuresLogged()).toBe(logged + 3)
    expect(capturedLogs.filter((line) => line.includes('address refused')).length).toBeGreaterThan(0)
    expect((await relay.app.inject({ url: '/metrics' })).body).toContain(
      'agent_comm_relay_auth_failures_total{reason="blocked"} 4',
    )
    // Another address is not affected.
    const elsewhere = await relay.signed('builder', 'POST', path, {}, { remoteAddress: '10.1.2.3' })
    expect(elsewhere.statusCode).toBe(200)
    relay.clock.advance(60_000)
    expect((await relay.signed('builder', 'POST', path, {})).statusCode).toBe(200)
  })

  it('behind a trusted proxy, counts failed authentications per client from X-Forwarded-For', async () => {
    const relay = await startTestRelay({
      listen: false,
      options: { authFailureLimit: { max: 2, timeWindowMs: 60_000 }, trustProxy: '127.0.0.1' },
    })
    const path = '/api/v1/agents/builder/claim'
    const wrong = 'also-not-the-builders-secret'
    remember(wrong)
    const from = (client: string, secret?: string) =>
      relay.signed(
        'builder',
        'POST',
        path,
        {},
        {
          ...(secret === undefined ? {} : { secret }),
          remoteAddress: '127.0.0.1',
          headers: { 'x-forwarded-for': client },
        },
      )
    expect((await from('203.0.113.7', wrong)).statusCode).toBe(401)
    expect((await from('203.0.113.7', wrong)).statusCode).toBe(401)
    expect((await from('203.0.113.7', wrong)).statusCode).toBe(429)
    // Another client behind the same proxy is not refused.
    expect((await from('198.51.100.9', wrong)).statusCode).toBe(401)
    expect((await from('198.51.100.9')).statusCode).toBe(200)
  })

  it('refuses a timestamp outside the window either way, and accepts one at its edge', async () => {
    const relay = await startTestRelay({ listen: false, options: { authWindowMs: 300_000 } })
    const path = '/api/v1/agents/builder/claim'
    for (const offset of [-300_001, 300_001, -3_600_000]) {
      const res = await relay.signed('builder', 'POST', path, {}, { timestamp: relay.clock.now() + offset })
      expect(res.statusCode).toBe(401)
      expect(errorOf(res).code).toBe('AUTH_TIMESTAMP')
    }
    for (const offset of [-300_000, 300_000]) {
      expect(
        (await relay.signed('builder', 'POST', path, {}, { timestamp: relay.clock.now() + offset }))
          .statusCode,
      ).toBe(200)
    }
  })

  it('refuses an unknown agent with the same answer as a wrong secret', async () => {
    const relay = await startTestRelay({ listen: false })
    const unknown = await relay.signed(
      'mallory',
      'POST',
      '/api/v1/agents/mallory/claim',
      {},
      { secret: 'acs_guessed-secret-0000000000' },
    )
    const wrong = await relay.signed(
      'builder',
      'POST',
      '/api/v1/agents/builder/claim',
      {},
      { secret: 'acs_guessed-secret-0000000000' },
    )
    for (const res of [unknown, wrong]) {
      expect(res.statusCode).toBe(401)
      expect(errorOf(res).code).toBe('UNAUTHENTICATED')
    }
    expect(errorOf(unknown).message.replace('mallory', 'X')).toBe(
      errorOf(wrong).message.replace('builder', 'X'),
    )
    const metrics = (await relay.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toContain('agent_comm_relay_auth_failures_total{reason="unknown_agent"} 1')
    expect(metrics).toContain('agent_comm_relay_auth_failures_total{reason="bad_signature"} 1')
  })

  it('refuses requests without the signature headers', async () => {
    const relay = await startTestRelay({ listen: false })
    const bare = await relay.app.inject({ method: 'POST', url: '/api/v1/agents/builder/claim', payload: {} })
    expect(bare.statusCode).toBe(401)
    expect(errorOf(bare)).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringContaining('X-Agent-ID'),
    })
    const headers = signRequest(relay.secrets.builder!, {
      method: 'GET',
      path: '/api/v1/agents',
      agentId: 'builder',
      timestamp: relay.clock.now(),
    })
    remember(headers['x-signature']!)
    for (const drop of ['x-timestamp', 'x-nonce', 'x-signature']) {
      const partial = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== drop))
      const res = await relay.app.inject({ method: 'GET', url: '/api/v1/agents', headers: partial })
      expect(res.statusCode).toBe(401)
      expect(errorOf(res).code).toBe('UNAUTHENTICATED')
    }
  })

  it('refuses an agent whose secret was revoked, also when another process revoked it', async () => {
    const relay = await startTestRelay({ listen: false })
    const path = '/api/v1/agents/builder/claim'
    expect((await relay.signed('builder', 'POST', path, {})).statusCode).toBe(200)
    // The CLI revokes through its own SecretStore on the same file; the running relay notices the change.
    const cli = await SecretStore.open({ path: SecretStore.fileIn(relay.dir), clock: relay.clock })
    expect(await cli.revoke('builder')).toEqual({ agentId: 'builder', revoked: 1 })
    const res = await relay.signed('builder', 'POST', path, {})
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).code).toBe('UNAUTHENTICATED')
  })

  it('accepts the old and the new secret during a rotation grace period, then only the new one', async () => {
    const relay = await startTestRelay({ listen: false })
    const old = relay.secrets.builder!
    const rotated = await relay.store.rotate('builder', { graceSeconds: 60 })
    const path = '/api/v1/agents/builder/claim'
    expect((await relay.signed('builder', 'POST', path, {}, { secret: old })).statusCode).toBe(200)
    expect((await relay.signed('builder', 'POST', path, {}, { secret: rotated.secret })).statusCode).toBe(200)
    relay.clock.advance(60_001)
    expect((await relay.signed('builder', 'POST', path, {}, { secret: old })).statusCode).toBe(401)
    expect((await relay.signed('builder', 'POST', path, {}, { secret: rotated.secret })).statusCode).toBe(200)
    used.push(rotated.secret)
  })

  it('does not need authentication for health, metrics and the OpenAPI document', async () => {
    const relay = await startTestRelay({ listen: false })
    for (const url of ['/api/v1/health', '/metrics', '/api/v1/openapi.json']) {
      expect((await relay.app.inject({ method: 'GET', url })).statusCode).toBe(200)
    }
  })

  it('keeps the secret store readable by its owner only', async () => {
    const relay = await startTestRelay({ listen: false })
    expect(statSync(relay.store.path).mode & 0o777).toBe(0o600)
    await relay.store.rotate('builder')
    expect(statSync(relay.store.path).mode & 0o777).toBe(0o600)
  })
})

describe('authorization', () => {
  it("refuses an agent claiming, waiting on or streaming another agent's messages", async () => {
    const relay = await startTestRelay({ listen: false })
    await relay.spool.send(message('architect', 'builder'))
    for (const [method, path] of [
      ['POST', '/api/v1/agents/builder/claim'],
      ['GET', '/api/v1/agents/builder/wait?timeoutMs=0'],
      ['GET', '/api/v1/agents/builder/stream'],
    ] as const) {
      const res = await relay.signed('reviewer', method, path, method === 'POST' ? {} : undefined)
      expect(res.statusCode, path).toBe(403)
      expect(errorOf(res).code).toBe('FORBIDDEN')
    }
    expect((await relay.spool.stats()).deliveries).toMatchObject({ queued: 1, leased: 0 })
  })

  it("refuses an agent acking, nacking or extending another agent's delivery", async () => {
    const relay = await startTestRelay({ listen: false })
    const sent = await relay.spool.send(message('architect', 'builder'))
    const [claimed] = await relay.spool.claim('builder')
    const receipt = claimed!.lease.receipt
    for (const action of ['ack', 'nack', 'extend']) {
      const res = await relay.signed(
        'reviewer',
        'POST',
        `/api/v1/agents/builder/messages/${sent.messageId}/${action}`,
        {
          receipt,
        },
      )
      expect(res.statusCode, action).toBe(403)
      expect(errorOf(res).code).toBe('FORBIDDEN')
    }
    expect((await relay.spool.status(sent.messageId)).deliveries[0]).toMatchObject({
      status: 'leased',
      attempt: 1,
    })
  })

  it('refuses a message whose fromAgent is not the signing agent, alone or in a batch', async () => {
    const relay = await startTestRelay({ listen: false })
    const forged = await relay.signed('reviewer', 'POST', '/api/v1/messages', {
      message: message('architect'),
    })
    expect(forged.statusCode).toBe(403)
    expect(errorOf(forged).code).toBe('FORBIDDEN')
    const batch = await relay.signed('reviewer', 'POST', '/api/v1/messages/batch', {
      items: [{ message: message('reviewer') }, { message: message('architect') }],
    })
    expect(batch.statusCode).toBe(403)
    expect(errorOf(batch).message).toContain('items.1.message.fromAgent')
    expect((await relay.spool.stats()).totalMessages).toBe(0)
  })

  it('shows a message status to its sender, its recipients and the admin only', async () => {
    const relay = await startTestRelay({ listen: false })
    const sent = await relay.spool.send(message('architect', 'builder'))
    const path = `/api/v1/messages/${sent.messageId}`
    for (const agent of ['architect', 'builder', 'admin']) {
      expect((await relay.signed(agent, 'GET', path)).statusCode, agent).toBe(200)
    }
    const stranger = await relay.signed('reviewer', 'GET', path)
    expect(stranger.statusCode).toBe(404)
    expect(errorOf(stranger).code).toBe('MESSAGE_NOT_FOUND')
    // Indistinguishable from a message that does not exist, so ids cannot be probed.
    const unknown = await relay.signed('reviewer', 'GET', '/api/v1/messages/msg_nope')
    expect(unknown.statusCode).toBe(404)
    expect(errorOf(unknown).code).toBe('MESSAGE_NOT_FOUND')
  })

  it('answers ack, nack and extend of a message not sent to the agent exactly as of one that does not exist', async () => {
    const relay = await startTestRelay({ listen: false })
    const sent = await relay.spool.send(message('architect', 'builder'))
    const missing = 'msg_01JD3Q8Z7X0000000000000000'
    for (const op of ['ack', 'nack', 'extend']) {
      const answer = async (id: string) => {
        const res = await relay.signed('reviewer', 'POST', `/api/v1/agents/reviewer/messages/${id}/${op}`, {})
        const { code, message: text } = errorOf(res)
        return { status: res.statusCode, code, message: text.replace(id, 'ID') }
      }
      const notYours = await answer(sent.messageId)
      expect(notYours).toMatchObject({ status: 404, code: 'DELIVERY_NOT_FOUND' })
      expect(await answer(missing)).toEqual(notYours)
    }
  })

  it("refuses a message reusing another sender's id rather than report it as a duplicate", async () => {
    const relay = await startTestRelay({ listen: false })
    const original = message('architect', 'builder')
    await relay.spool.send(original)
    const reused = await relay.signed('reviewer', 'POST', '/api/v1/messages', {
      message: { ...original, fromAgent: 'reviewer', body: 'mine' },
    })
    expect(reused.statusCode).toBe(409)
    expect(errorOf(reused).code).toBe('CONFLICT')
    expect(reused.body).not.toContain('architect')
    expect((await relay.spool.status(original.id)).message.body).toBe('Implement auth')
    const retried = await relay.signed('architect', 'POST', '/api/v1/messages', { message: original })
    expect(retried.json()).toMatchObject({ duplicate: true, deliveries: 0 })
  })

  it('lets an agent register and deregister itself, and only the admin do it for others', async () => {
    const relay = await startTestRelay({ listen: false })
    const profile = { capabilities: ['code'], device: 'laptop' }
    expect((await relay.signed('builder', 'PUT', '/api/v1/agents/builder', profile)).statusCode).toBe(200)
    const other = await relay.signed('builder', 'PUT', '/api/v1/agents/reviewer', profile)
    expect(other.statusCode).toBe(403)
    expect(errorOf(other).code).toBe('FORBIDDEN')
    expect((await relay.signed('admin', 'PUT', '/api/v1/agents/reviewer', profile)).statusCode).toBe(200)
    expect((await relay.signed('builder', 'DELETE', '/api/v1/agents/reviewer')).statusCode).toBe(403)
    expect((await relay.signed('builder', 'DELETE', '/api/v1/agents/builder')).statusCode).toBe(204)
    expect((await relay.signed('admin', 'DELETE', '/api/v1/agents/reviewer')).statusCode).toBe(204)
    expect(await relay.registry.list()).toEqual([])
  })

  it('keeps operator endpoints for the admin, whose secret may also come from the relay options', async () => {
    const envSecret = 'admin-secret-from-the-environment'
    used.push(envSecret)
    const relay = await startTestRelay({
      listen: false,
      agents: ['builder'],
      options: { admin: { agentId: 'operator', secrets: [envSecret] } },
    })
    for (const path of ['/api/v1/admin/stats', '/api/v1/admin/failed', '/api/v1/admin/agents']) {
      const denied = await relay.signed('builder', 'GET', path)
      expect(denied.statusCode, path).toBe(403)
      expect(errorOf(denied).code).toBe('FORBIDDEN')
      expect(
        (await relay.signed('operator', 'GET', path, undefined, { secret: envSecret })).statusCode,
        path,
      ).toBe(200)
    }
    const agents = (
      await relay.signed('operator', 'GET', '/api/v1/admin/agents', undefined, { secret: envSecret })
    ).json()
    expect(agents).toEqual({
      agents: [
        {
          agentId: 'builder',
          profile: null,
          secret: { createdAt: new Date(T0).toISOString(), activeSecrets: 1 },
        },
      ],
    })
    expect(JSON.stringify(agents)).not.toContain(relay.secrets.builder)
  })
})

describe('limits', () => {
  it('answers 413 for a body over the limit', async () => {
    const relay = await startTestRelay({ listen: false, options: { bodyLimitBytes: 4096 } })
    const res = await relay.signed('architect', 'POST', '/api/v1/messages', {
      message: { ...message(), body: 'x'.repeat(5000) },
    })
    expect(res.statusCode).toBe(413)
    expect(errorOf(res).code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('rate-limits per authenticated agent with 429', async () => {
    const relay = await startTestRelay({
      listen: false,
      options: { rateLimit: { max: 3, timeWindowMs: 60_000 } },
    })
    const claim = (agent: string) => relay.signed(agent, 'POST', `/api/v1/agents/${agent}/claim`, {})
    for (let i = 0; i < 3; i++) expect((await claim('builder')).statusCode).toBe(200)
    const limited = await claim('builder')
    expect(limited.statusCode).toBe(429)
    expect(errorOf(limited).code).toBe('RATE_LIMITED')
    expect(limited.headers['retry-after']).toBeDefined()
    expect((await claim('reviewer')).statusCode).toBe(200)
    expect((await relay.app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode).toBe(200)
  })
})

afterAll(() => {
  // Every secret any relay in this file knew, and every signature sent, must be absent from every log line.
  const logs = capturedLogs.join('')
  expect(capturedLogs.length).toBeGreaterThan(0)
  expect(logs).toContain('authentication failed')
  for (const value of used) expect(logs).not.toContain(value)
  for (const line of capturedLogs) {
    expect(line).not.toMatch(/acs_[A-Za-z0-9_-]{43}/)
    expect(line.toLowerCase()).not.toContain('x-signature')
  }
})
