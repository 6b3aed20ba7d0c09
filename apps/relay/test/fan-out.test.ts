import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { describe, expect, it, vi } from 'vitest'
import { errorOf, startTestRelay, type TestRelay } from './helpers.js'

function messages(relay: TestRelay, fromAgent = 'architect') {
  const ids = new IdGenerator(relay.clock)
  return (toAgent = '*') =>
    createMessage({ fromAgent, toAgent, subject: 'Task', body: 'go' }, { clock: relay.clock, ids })
}

const agents = (n: number) => Array.from({ length: n }, (_, i) => `agent-${i}`)

describe('fan-out bounds', () => {
  it('refuses a message with more recipients than maxRecipientsPerMessage, naming the limit', async () => {
    const relay = await startTestRelay({ listen: false, options: { maxRecipientsPerMessage: 5 } })
    const message = messages(relay)
    const res = await relay.signed('architect', 'POST', '/api/v1/messages', {
      message: message(),
      recipients: agents(6),
    })
    expect(res.statusCode).toBe(400)
    expect(errorOf(res)).toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining('maxRecipientsPerMessage is 5'),
    })
    const batch = await relay.signed('architect', 'POST', '/api/v1/messages/batch', {
      items: [
        { message: message(), recipients: agents(5) },
        { message: message(), recipients: agents(6) },
      ],
    })
    expect(batch.statusCode).toBe(400)
    expect(errorOf(batch).message).toContain('items.1.recipients')
    expect((await relay.spool.stats()).totalMessages).toBe(0)
    // Duplicates in the list are one recipient.
    const ok = await relay.signed('architect', 'POST', '/api/v1/messages', {
      message: message(),
      recipients: [...agents(5), 'agent-0'],
    })
    expect(ok.json()).toMatchObject({ deliveries: 5 })
  })

  it('refuses a request creating more deliveries than maxDeliveriesPerRequest with 413, storing nothing', async () => {
    const relay = await startTestRelay({
      listen: false,
      options: { maxRecipientsPerMessage: 100, maxDeliveriesPerRequest: 250 },
    })
    const message = messages(relay)
    const items = Array.from({ length: 3 }, () => ({ message: message(), recipients: agents(100) }))
    const res = await relay.signed('architect', 'POST', '/api/v1/messages/batch', { items })
    expect(res.statusCode).toBe(413)
    expect(errorOf(res)).toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining("300 deliveries; the relay's limit maxDeliveriesPerRequest is 250"),
    })
    expect((await relay.spool.stats()).totalMessages).toBe(0)
  })

  it("charges every delivery of a send to the sender's rate limit, and invalid requests too", async () => {
    const relay = await startTestRelay({
      listen: false,
      options: { rateLimit: { max: 10, timeWindowMs: 60_000 } },
    })
    const message = messages(relay)
    const send = (recipients?: string[]) =>
      relay.signed('architect', 'POST', '/api/v1/messages', {
        message: message(recipients === undefined ? 'builder' : '*'),
        ...(recipients === undefined ? {} : { recipients }),
      })
    expect((await send(agents(8))).statusCode).toBe(200) // 8 units
    const refused = await send(agents(3)) // its request unit fits (9), its deliveries do not
    expect(refused.statusCode).toBe(429)
    expect(errorOf(refused).code).toBe('RATE_LIMITED')
    expect(refused.headers['retry-after']).toBe('60')
    expect((await send()).statusCode).toBe(200) // 10
    expect((await send()).statusCode).toBe(429)
    expect((await relay.spool.stats()).totalMessages).toBe(2)
    // Another agent has its own budget; requests that fail validation spend it like any other.
    for (let i = 0; i < 10; i++) {
      const invalid = await relay.signed('builder', 'POST', '/api/v1/messages', { message: { nonsense: i } })
      expect(invalid.statusCode).toBe(400)
    }
    expect((await relay.signed('builder', 'POST', '/api/v1/agents/builder/claim', {})).statusCode).toBe(429)
    relay.clock.advance(60_000)
    expect((await relay.signed('builder', 'POST', '/api/v1/agents/builder/claim', {})).statusCode).toBe(200)
  })

  it('writes a large batch in chunks and serves other agents between them', async () => {
    const relay = await startTestRelay({
      listen: false,
      options: { chunkDeliveries: 6, maxRecipientsPerMessage: 3 },
    })
    const flood = messages(relay, 'architect')
    const other = messages(relay, 'reviewer')
    const items = Array.from({ length: 80 }, () => ({ message: flood(), recipients: agents(3) }))
    // The moment the flood's first message is written, another agent sends one of its own.
    let otherRequest: ReturnType<TestRelay['signed']> | undefined
    let started = false
    sqliteConnectionOf(relay.spool).function('flood_written', (from: unknown) => {
      if (from === 'architect' && !started) {
        started = true
        // Started once the current statement is done: the connection is busy inside this callback.
        queueMicrotask(() => {
          otherRequest = relay.signed('reviewer', 'POST', '/api/v1/messages', { message: other('tester') })
        })
      }
      return null
    })
    sqliteConnectionOf(relay.spool).exec(
      'CREATE TEMP TRIGGER watch_flood AFTER INSERT ON messages BEGIN SELECT flood_written(NEW.from_agent); END',
    )
    const flooded = await relay.signed('architect', 'POST', '/api/v1/messages/batch', { items })
    expect(flooded.statusCode).toBe(200)
    expect((flooded.json() as { results: unknown[] }).results).toHaveLength(80)
    expect((await otherRequest)?.statusCode).toBe(200)
    // The other agent's message was stored between two of the flood's transactions, not after all of them.
    const seqs = sqliteConnectionOf(relay.spool)
      .prepare('SELECT from_agent AS sender, seq FROM messages ORDER BY seq')
      .all() as { sender: string; seq: number }[]
    const position = seqs.findIndex((row) => row.sender === 'reviewer')
    expect(position).toBeGreaterThan(0)
    expect(position).toBeLessThan(seqs.length - 1)
    expect(seqs.filter((row) => row.sender === 'architect')).toHaveLength(80)
    expect((await relay.spool.stats()).deliveries.queued).toBe(241)
  })

  it('asks the registry for recipients only for a group target: a direct send goes without the lookup', async () => {
    const relay = await startTestRelay({ listen: false })
    await relay.registry.register({ agentId: 'builder', capabilities: ['code'] })
    const message = messages(relay)
    const lookups = vi.spyOn(relay.registry, 'groupMembers')
    const direct = await relay.signed('architect', 'POST', '/api/v1/messages', {
      message: message('builder'),
    })
    expect(direct.statusCode).toBe(200)
    expect(direct.json()).toMatchObject({ deliveries: 1, recipients: ['builder'] })
    expect(lookups).not.toHaveBeenCalled()
    const group = await relay.signed('architect', 'POST', '/api/v1/messages', {
      message: message('capability:code'),
    })
    expect(group.statusCode).toBe(200)
    expect(group.json()).toMatchObject({ deliveries: 1, recipients: ['builder'] })
    expect(lookups).toHaveBeenCalledTimes(1)
  })
})
