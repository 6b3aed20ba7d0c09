import { readFileSync } from 'node:fs'
import {
  createMessage,
  IdGenerator,
  type JsonValue,
  type MessageV2,
  StorageError,
} from '@agent-comm/protocol'
import { spoolStoreOf } from '@agent-comm/spool/testing'
import { ApiPath, HttpTransport } from '@agent-comm/transport-http'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { capturedLogs, errorOf, startTestRelay, T0, type TestRelay } from './helpers.js'

function messages(relay: TestRelay) {
  const ids = new IdGenerator(relay.clock)
  return (
    fields: {
      fromAgent?: string
      toAgent?: string
      body?: string
      routing?: { conversationId?: string }
    } = {},
  ) =>
    createMessage(
      { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'go', ...fields },
      { clock: relay.clock, ids },
    )
}

describe('messages', () => {
  it('sends a batch in one transaction and acks a batch', async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    const batch = Array.from({ length: 5 }, (_, i) => ({ message: message({ body: `m${i}` }) }))
    const results = await relay.client.sendBatch(batch)
    expect(results.map((r) => [r.messageId, r.duplicate, r.deliveries])).toEqual(
      batch.map((b) => [b.message.id, false, 1]),
    )
    expect((await relay.client.sendBatch(batch.slice(0, 1)))[0]).toMatchObject({
      duplicate: true,
      deliveries: 0,
    })
    const claimed = await relay.client.claim('builder', { limit: 10 })
    const acks = await relay.client.ackBatch(
      'builder',
      claimed.map((c) => ({ messageId: c.message.id, receipt: c.lease.receipt })),
    )
    expect(acks.map((a) => a.status)).toEqual(Array(5).fill('acked'))
  })

  it('lets concurrent sends, claims and acks of one client share requests, each caller getting its own', async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    const requests = async () => {
      const text = (await relay.app.inject({ method: 'GET', url: '/metrics' })).body
      const counts: Record<string, number> = {}
      for (const [, route, count] of text.matchAll(
        /agent_comm_relay_http_requests_total\{method="POST",route="([^"]+)",status="200"\} (\d+)/g,
      )) {
        counts[route as string] = Number(count)
      }
      return counts
    }
    const sent = Array.from({ length: 6 }, (_, i) => message({ body: `m${i}` }))
    const results = await Promise.all(sent.map((m) => relay.client.send(m)))
    expect(results.map((r) => [r.messageId, r.duplicate, r.message.body])).toEqual(
      sent.map((m) => [m.id, false, m.body]),
    )
    const claims = await Promise.all(sent.map(() => relay.client.claim('builder', { limit: 1 })))
    expect(claims.map((c) => c.length)).toEqual(Array(6).fill(1))
    expect(new Set(claims.map((c) => c[0]?.message.id))).toEqual(new Set(sent.map((m) => m.id)))
    const acks = await Promise.all(
      claims.map(([c]) => relay.client.ack(c!.message.id, 'builder', { receipt: c!.lease.receipt })),
    )
    expect(acks.map((a) => [a.status, a.alreadyAcked])).toEqual(Array(6).fill(['acked', false]))
    expect(await requests()).toEqual({
      '/api/v1/messages/batch': 1,
      '/api/v1/agents/:agentId/claim': 1,
      '/api/v1/agents/:agentId/ack': 1,
    })
    expect((await relay.spool.stats()).deliveries).toMatchObject({ acked: 6, queued: 0, leased: 0 })
  })

  it('delivers every message exactly once to many concurrent cycles sharing requests, losing none', async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    const total = 300
    const sent: string[] = []
    const acked: string[] = []
    let left = total
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (left-- > 0) {
          sent.push((await relay.client.send(message())).messageId)
          // A claim may come back empty when another cycle's claim took the message first: claim again.
          for (;;) {
            const [claimed] = await relay.client.claim('builder', { limit: 1 })
            if (claimed === undefined) continue
            const ack = await relay.client.ack(claimed.message.id, 'builder', {
              receipt: claimed.lease.receipt,
            })
            expect(ack.alreadyAcked).toBe(false)
            acked.push(claimed.message.id)
            break
          }
        }
      }),
    )
    expect(new Set(acked).size).toBe(total)
    expect([...acked].sort()).toEqual([...sent].sort())
    expect((await relay.spool.stats()).deliveries).toMatchObject({ acked: total, queued: 0, leased: 0 })
  })

  it('keeps each shared call to its own outcome: one bad message in a shared batch fails only its caller', async () => {
    const relay = await startTestRelay({ options: { bodyLimitBytes: 64 * 1024 } })
    const message = messages(relay)
    const good = [message({ body: 'one' }), message({ body: 'two' })]
    const invalid = { ...message({ body: 'three' }), priority: 'asap' } as unknown as MessageV2
    const huge = message({ body: 'x'.repeat(100 * 1024) })
    const outcomes = await Promise.allSettled([
      relay.client.send(good[0]!),
      relay.client.send(invalid),
      relay.client.send(huge),
      relay.client.send(good[1]!),
    ])
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.messageId : o.reason))).toEqual([
      good[0]!.id,
      expect.objectContaining({ code: 'VALIDATION' }),
      expect.objectContaining({ relayCode: 'PAYLOAD_TOO_LARGE' }),
      good[1]!.id,
    ])
    expect((await relay.spool.stats()).deliveries.queued).toBe(2)
    // They went together first; the relay refused the batch as a whole, so each went again on its own.
    const metrics = (await relay.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(
      /requests_total\{method="POST",route="\/api\/v1\/messages\/batch",status="413"\} 1/,
    )
    expect(metrics).toMatch(/requests_total\{method="POST",route="\/api\/v1\/messages",status="200"\} 2/)
  })

  it('refuses an approval response its sender sends in the name of someone else (403 FORBIDDEN)', async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    const request = message({ toAgent: 'builder' })
    await relay.client.send(request)
    const decision = (decidedBy: string) =>
      createMessage(
        {
          fromAgent: 'architect',
          toAgent: 'builder',
          body: 'approve',
          routing: { replyTo: request.id },
          payload: {
            type: 'approval_response',
            data: { decision: 'approve', decidedBy, decidedAt: new Date(T0).toISOString() },
          },
        },
        { clock: relay.clock },
      )
    await expect(relay.client.send(decision('human1'))).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(relay.client.send(decision('architect'))).resolves.toMatchObject({ recipients: ['builder'] })
  })

  it('refuses a malformed metadata.trace (400 VALIDATION naming the field), storing nothing', async () => {
    const relay = await startTestRelay({ listen: false })
    const good = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const traces: JsonValue[] = [
      { traceparent: 'garbage' },
      'not-an-object',
      { traceparent: good, tracestate: 'a'.repeat(600) },
    ]
    for (const trace of traces) {
      const message = createMessage({
        fromAgent: 'architect',
        toAgent: 'builder',
        body: 'x',
        metadata: { trace },
      })
      const res = await relay.signed('architect', 'POST', '/api/v1/messages', { message })
      expect(res.statusCode).toBe(400)
      expect(errorOf(res)).toMatchObject({
        code: 'VALIDATION',
        message: expect.stringContaining('metadata.trace'),
      })
    }
    expect((await relay.spool.stats()).totalMessages).toBe(0)
  })

  it("sends a broadcast without recipients to the relay's registered agents, sender excluded", async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    for (const [agent, capabilities] of [
      ['architect', ['design']],
      ['builder', ['code']],
      ['reviewer', ['code', 'review']],
    ] as const) {
      await relay.client.register({ agentId: agent, capabilities: [...capabilities] })
    }
    const everyone = await relay.client.send(message({ toAgent: '*' }))
    expect([...everyone.recipients].sort()).toEqual(['builder', 'reviewer'])
    const coders = await relay.client.send(message({ toAgent: 'capability:review' }))
    expect(coders.recipients).toEqual(['reviewer'])
  })

  it('summarises a thread for an agent over the messages it sent or received, nothing else', async () => {
    const relay = await startTestRelay({ listen: false })
    const ids = new IdGenerator(relay.clock)
    const inThread = (fromAgent: string, toAgent: string, subject: string) =>
      createMessage(
        { fromAgent, toAgent, subject, body: 'b', routing: { conversationId: 'conv_s' } },
        { ids, clock: relay.clock },
      )
    await relay.spool.send(inThread('architect', 'builder', 'Secret plan'))
    await relay.spool.send(inThread('builder', 'architect', 'Re: Secret plan'))
    relay.clock.advance(1000)
    // A stranger who learned the id posts into the thread: it must see its own message only.
    await relay.spool.send(inThread('tester', 'lead', 'Hello'))
    await relay.spool.send(inThread('architect', '*', 'Standup'), { recipients: ['lead', 'reviewer'] })
    const summary = async (agent: string) => {
      const res = await relay.signed(agent, 'GET', '/api/v1/conversations')
      return (res.json() as { conversations: unknown[] }).conversations
    }
    expect(await summary('tester')).toEqual([
      {
        conversationId: 'conv_s',
        subject: 'Hello',
        participants: ['lead', 'tester'],
        messageCount: 1,
        firstActivity: new Date(T0 + 1000).toISOString(),
        lastActivity: new Date(T0 + 1000).toISOString(),
      },
    ])
    // The lead received the stranger's message and the broadcast.
    expect(await summary('lead')).toEqual([
      expect.objectContaining({
        subject: 'Hello',
        participants: ['*', 'architect', 'lead', 'tester'],
        messageCount: 2,
      }),
    ])
    expect(await summary('builder')).toEqual([
      expect.objectContaining({
        subject: 'Secret plan',
        participants: ['architect', 'builder'],
        messageCount: 2,
      }),
    ])
    expect(await summary('admin')).toEqual([
      expect.objectContaining({ subject: 'Secret plan', messageCount: 4 }),
    ])
    expect(await summary('nobody')).toEqual([])
  })

  it('refuses recipients on a direct message unless they are its address', async () => {
    const relay = await startTestRelay({ listen: false })
    const message = messages(relay)
    const res = await relay.signed('architect', 'POST', '/api/v1/messages', {
      message: message({ toAgent: 'builder' }),
      recipients: ['reviewer'],
    })
    expect(res.statusCode).toBe(400)
    expect(errorOf(res)).toMatchObject({ code: 'VALIDATION', message: expect.stringContaining("'builder'") })
    const batch = await relay.signed('architect', 'POST', '/api/v1/messages/batch', {
      items: [
        { message: message(), recipients: ['builder'] },
        { message: message(), recipients: ['tester'] },
      ],
    })
    expect(batch.statusCode).toBe(400)
    expect((await relay.spool.stats()).totalMessages).toBe(0)
  })

  it('shows a thread to its participants only, as far as they took part', async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    const first = await relay.client.send(message({ routing: { conversationId: 'conv_x' } }))
    await relay.client.send(
      message({ fromAgent: 'builder', toAgent: 'architect', routing: { conversationId: 'conv_x' } }),
    )
    await relay.client.send(message({ toAgent: '*', routing: { conversationId: 'conv_x' } }), {
      recipients: ['tester'],
    })
    await relay.client.send(message({ toAgent: 'reviewer', routing: { conversationId: 'conv_x' } }))
    expect((await relay.client.conversation('conv_x', { as: 'architect' })).length).toBe(4)
    expect((await relay.client.conversation('conv_x', { as: 'builder' })).length).toBe(2)
    const tester = await relay.client.conversation('conv_x', { as: 'tester' })
    expect(tester.map((m) => m.toAgent)).toEqual(['*'])
    expect(await relay.client.conversation('conv_x', { as: 'nobody' })).toEqual([])
    expect((await relay.client.conversations({ as: 'builder' })).map((c) => c.conversationId)).toEqual([
      'conv_x',
    ])
    expect(await relay.client.conversations({ as: 'nobody' })).toEqual([])
    expect(first.duplicate).toBe(false)
  })
})

describe('identifiers at their longest', () => {
  it('serves 128-character agent and conversation ids, even when every ":" and "@" is percent-encoded', async () => {
    const long = (prefix: string) => `${prefix}:@`.repeat(43).slice(0, 128)
    const sender = long('a')
    const recipient = long('b')
    const conversationId = long('c')
    expect([sender, recipient, conversationId].map((id) => id.length)).toEqual([128, 128, 128])
    const relay = await startTestRelay({ agents: [sender, recipient] })
    const sent = await relay.client.send(
      createMessage(
        { fromAgent: sender, toAgent: recipient, subject: 'Task', body: 'go', routing: { conversationId } },
        { clock: relay.clock },
      ),
    )
    const [claimed] = await relay.client.claim(recipient)
    expect(claimed?.message.id).toBe(sent.messageId)
    await relay.client.ack(sent.messageId, recipient, { receipt: claimed!.lease.receipt })
    expect((await relay.client.conversation(conversationId, { as: sender })).length).toBe(1)
    await relay.client.register({ agentId: recipient })
    expect((await relay.client.heartbeat(recipient)).agentId).toBe(recipient)
  })

  it('refuses a 129-character agent id with 400 naming the path parameter, not 414', async () => {
    const relay = await startTestRelay({ listen: false })
    const res = await relay.signed('builder', 'POST', `/api/v1/agents/${'b'.repeat(129)}/claim`, {})
    expect(res.statusCode).toBe(400)
    expect(errorOf(res)).toMatchObject({ code: 'VALIDATION' })
    expect(errorOf(res).message).toMatch(/agentId/)
  })
})

describe('agents', () => {
  it('registers, lists, heartbeats and deregisters, and records presence on every request', async () => {
    const relay = await startTestRelay()
    const profile = await relay.client.register({
      agentId: 'builder',
      capabilities: ['code'],
      device: 'laptop',
    })
    expect(profile).toMatchObject({ agentId: 'builder', capabilities: ['code'], status: 'active' })
    expect(
      (await relay.client.listAgents({ as: 'architect', capability: 'code' })).map((a) => a.agentId),
    ).toEqual(['builder'])
    relay.clock.advance(10 * 60_000)
    expect((await relay.client.getAgent('builder', { as: 'architect' })).status).toBe('inactive')
    await relay.client.claim('builder')
    expect((await relay.client.getAgent('builder', { as: 'architect' })).status).toBe('active')
    relay.clock.advance(10 * 60_000)
    expect((await relay.client.heartbeat('builder')).status).toBe('active')
    await relay.client.deregister('builder')
    await expect(relay.client.getAgent('builder', { as: 'architect' })).rejects.toMatchObject({
      code: 'AGENT_NOT_FOUND',
    })
  })

  it('refuses an http registration without a relay URL, naming the field', async () => {
    const relay = await startTestRelay()
    await expect(relay.client.register({ agentId: 'builder', transport: 'http' })).rejects.toMatchObject({
      code: 'VALIDATION',
      issues: [expect.objectContaining({ path: 'relayUrl' })],
    })
  })
})

describe('admin', () => {
  it('lists and retries dead-lettered deliveries', async () => {
    const relay = await startTestRelay()
    const transport = relay.transport()
    const sent = await transport.send(messages(relay)(), { maxAttempts: 1 })
    await transport.claim('builder')
    await transport.nack(sent.messageId, 'builder', { reason: 'boom' })
    const failed = await relay.client.admin(
      { method: 'GET', path: ApiPath.adminFailed },
      z.object({ failed: z.array(z.object({ delivery: z.object({ lastError: z.string().nullable() }) })) }),
      { as: 'admin' },
    )
    expect(failed.failed.map((f) => f.delivery.lastError)).toEqual(['boom'])
    const retried = await relay.client.admin(
      { method: 'POST', path: ApiPath.adminRetry(sent.messageId), body: {} },
      z.object({ requeued: z.number() }),
      { as: 'admin' },
    )
    expect(retried).toEqual({ requeued: 1 })
    const stats = await relay.client.admin(
      { method: 'GET', path: ApiPath.adminStats },
      z.object({ totalMessages: z.number() }),
      {
        as: 'admin',
      },
    )
    expect(stats.totalMessages).toBe(1)
  })
})

describe('system endpoints', () => {
  it('reports health, and 503 when the database is gone', async () => {
    const relay = await startTestRelay({ listen: false })
    const ok = await relay.app.inject({ method: 'GET', url: '/api/v1/health' })
    expect(ok.json()).toMatchObject({ status: 'ok', database: 'ok', version: expect.any(String) })
    await relay.spool.close()
    const down = await relay.app.inject({ method: 'GET', url: '/api/v1/health' })
    expect(down.statusCode).toBe(503)
    expect(down.json()).toMatchObject({ status: 'degraded', database: 'unreachable' })
    // Readiness follows the database; liveness only the process.
    const ready = await relay.app.inject({ method: 'GET', url: '/api/v1/health/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toMatchObject({
      status: 'unavailable',
      database: 'unreachable',
      shuttingDown: false,
    })
    const live = await relay.app.inject({ method: 'GET', url: '/api/v1/health/live' })
    expect(live.statusCode).toBe(200)
    expect(live.json()).toMatchObject({ status: 'ok' })
  })

  it('answers a storage failure with 500 INTERNAL and the request id, keeping the internals in its log', async () => {
    const relay = await startTestRelay({ listen: false })
    await relay.spool.close()
    const res = await relay.signed('builder', 'POST', '/api/v1/agents/builder/claim', {})
    expect(res.statusCode).toBe(500)
    const error = errorOf(res)
    expect(error).toEqual({
      code: 'INTERNAL',
      message: `The relay failed to handle this request (request id ${res.headers['x-request-id']})`,
      hint: expect.any(String),
      details: { requestId: res.headers['x-request-id'] },
    })
    expect(JSON.stringify(error)).not.toContain(relay.dir)
    expect(
      capturedLogs.some(
        (line) => line.includes('request failed') && line.includes(String(res.headers['x-request-id'])),
      ),
    ).toBe(true)
  })

  it('answers a database that is unavailable for now with 503 and Retry-After, and the client retries', async () => {
    const relay = await startTestRelay()
    // What the drivers throw for a lost connection, a server refusing connections, a full disk, a lock.
    const outage = () =>
      new StorageError('PostgreSQL query failed at postgres://relay@db/x: terminating connection', {
        transient: true,
      })
    const spoolStore = spoolStoreOf(relay.spool)
    const insert = vi.spyOn(spoolStore, 'insertMessages').mockRejectedValue(outage())
    const res = await relay.signed('architect', 'POST', '/api/v1/messages', { message: messages(relay)() })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('1')
    const error = errorOf(res)
    expect(error).toMatchObject({ code: 'UNAVAILABLE', hint: expect.stringContaining('Retry') })
    expect(JSON.stringify(error)).not.toContain('terminating connection')
    // A genuine failure stays a 500.
    insert.mockRejectedValue(new StorageError('a statement the relay got wrong'))
    const failed = await relay.signed('architect', 'POST', '/api/v1/messages', { message: messages(relay)() })
    expect(failed.statusCode).toBe(500)
    // The client retries an idempotent call on 503: one outage, then the database is back.
    insert
      .mockReset()
      .mockRejectedValueOnce(outage())
      .mockImplementation((params) =>
        (Object.getPrototypeOf(spoolStore) as typeof spoolStore).insertMessages.call(spoolStore, params),
      )
    await expect(relay.client.send(messages(relay)())).resolves.toMatchObject({ duplicate: false })
    expect(insert).toHaveBeenCalledTimes(2)
  })

  it('exposes Prometheus metrics: requests by route, latency, queue depth and ages, agents by presence', async () => {
    const relay = await startTestRelay()
    await relay.registry.register({ agentId: 'builder', capabilities: ['code'], device: 'ci' })
    await relay.client.send(messages(relay)())
    await relay.client.claim('builder', { limit: 1 })
    relay.clock.advance(5_000)
    const response = await relay.app.inject({ method: 'GET', url: '/metrics' })
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = response.body
    expect(text).toContain(
      'agent_comm_relay_http_requests_total{method="POST",route="/api/v1/messages",status="200"} 1',
    )
    expect(text).toContain(
      'agent_comm_relay_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/v1/agents/:agentId/claim"} 1',
    )
    expect(text).toContain('agent_comm_relay_deliveries{status="leased"} 1')
    expect(text).toContain('agent_comm_relay_messages 1')
    expect(text).toContain('agent_comm_relay_oldest_lease_age_seconds 5')
    expect(text).toContain('agent_comm_relay_oldest_queued_age_seconds 0')
    const presence = await relay.registry.countByStatus()
    expect(presence.active + presence.inactive + presence.offline).toBeGreaterThan(0)
    for (const [status, count] of Object.entries(presence)) {
      expect(text).toContain(`agent_comm_relay_agents{status="${status}"} ${count}`)
    }
    expect(text).toContain('agent_comm_relay_up 1')
    // Every family once, with its HELP and TYPE: the text a Prometheus server parses.
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1])
    expect(new Set(families).size).toBe(families.length)
    // /metrics is served to whoever reaches the port: no label names an agent.
    expect(text).not.toMatch(/builder|architect/)
  })

  it('exposes every metric the README documents and its alerting rules name', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const section = readme.slice(
      readme.indexOf('## Metrics'),
      readme.indexOf('## Authentication and authorization'),
    )
    const named = new Set([...section.matchAll(/\bagent_comm_relay_[a-z_]+/g)].map((m) => m[0]))
    expect(named).toContain('agent_comm_relay_oldest_lease_age_seconds')
    const relay = await startTestRelay({ listen: false })
    const text = (await relay.app.inject({ method: 'GET', url: '/metrics' })).body
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]))
    for (const name of named) expect(families, name).toContain(name)
    // ...and documents every family of the relay's own.
    for (const family of families)
      if (family?.startsWith('agent_comm_relay_')) expect(named, family).toContain(family)
  })

  it("exposes the process's own metrics beside the relay's: CPU, memory, event-loop lag", async () => {
    const relay = await startTestRelay({ listen: false })
    const text = (await relay.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m)
    expect(text).toMatch(/^process_resident_memory_bytes \d/m)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m)
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m)
  })

  it('says the relay is down, and shows no stale queue figures, when its database cannot be read', async () => {
    const relay = await startTestRelay({ listen: false })
    await relay.client.send(messages(relay)()).catch(() => undefined)
    vi.spyOn(relay.spool, 'stats').mockRejectedValue(new Error('disk I/O error'))
    const response = await relay.app.inject({ method: 'GET', url: '/metrics' })
    expect(response.statusCode).toBe(200)
    expect(response.body).toContain('agent_comm_relay_up 0')
    expect(response.body).not.toContain('agent_comm_relay_deliveries')
    expect(response.body).not.toContain('agent_comm_relay_messages')
    expect(response.body).toContain('agent_comm_relay_http_requests_total')
  })

  it('describes every endpoint in an OpenAPI 3.1 document', async () => {
    const relay = await startTestRelay({ listen: false })
    const doc = (await relay.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as {
      openapi: string
      paths: Record<
        string,
        Record<string, { operationId: string; security: unknown[]; responses: Record<string, unknown> }>
      >
    }
    expect(doc.openapi).toBe('3.1.0')
    const operations = Object.values(doc.paths).flatMap((methods) => Object.values(methods))
    expect(new Set(operations.map((o) => o.operationId)).size).toBe(operations.length)
    expect(operations.map((o) => o.operationId).sort()).toEqual(
      [
        'ack',
        'ackBatch',
        'adminAgents',
        'claim',
        'claimReply',
        'consoleApprovals',
        'consoleAudit',
        'consoleDecide',
        'consoleDone',
        'consoleEvents',
        'consoleInbox',
        'consoleOpen',
        'consoleOverview',
        'consoleSearch',
        'consoleSend',
        'consoleSession',
        'consoleSignIn',
        'consoleSignOut',
        'conversation',
        'conversations',
        'deregister',
        'extendLease',
        'getAgent',
        'health',
        'healthLive',
        'healthReady',
        'heartbeat',
        'listAgents',
        'listFailed',
        'metrics',
        'nack',
        'openapi',
        'register',
        'retryFailed',
        'send',
        'sendBatch',
        'stats',
        'status',
        'stream',
        'wait',
      ].sort(),
    )
    // Every documented operation is served, at the documented method and path.
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const url = path.replace(/\{([A-Za-z]+)\}/g, ':$1')
        expect(relay.app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${path}`).toBe(
          true,
        )
      }
    }
    expect(doc.paths['/api/v1/agents/{agentId}/claim']?.post?.responses).toHaveProperty('401')
    expect(doc.paths['/api/v1/health']?.get?.security).toEqual([])
  })
})

describe('HttpTransport status without an identity', () => {
  it('asks as the agents it has sent or claimed for', async () => {
    const relay = await startTestRelay()
    const transport = new HttpTransport({ client: relay.client })
    await expect(transport.status('msg_x')).rejects.toMatchObject({ code: 'CONFIG' })
    const sent = await transport.send(messages(relay)())
    expect((await transport.status(sent.messageId)).message.id).toBe(sent.messageId)
    await expect(transport.status('msg_unknown')).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
    await transport.close()
  })
})
