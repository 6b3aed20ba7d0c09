import { createMessage, type JsonObject } from '@agent-comm/protocol'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { describe, expect, it } from 'vitest'
import { errorOf, startTestRelay, T0 } from './helpers.js'

const clock = { now: () => T0 }
const message = (fields: { subject?: string } = {}) =>
  createMessage(
    { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'Go', ...fields },
    { clock },
  )

/** `levels` objects nested in each other, as JSON text (built as text: no recursion on this side either). */
function nestedText(levels: number): string {
  return `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`
}

function nested(levels: number): JsonObject {
  return JSON.parse(nestedText(levels)) as JsonObject
}

describe('a message nested too deep to be safe', () => {
  it('is refused with 400 VALIDATION naming the depth limit, and nothing is queued', async () => {
    const relay = await startTestRelay()
    const poison = { ...message(), metadata: nested(3_000) }
    const response = await relay.signed('architect', 'POST', '/api/v1/messages', { message: poison })
    expect(response.statusCode).toBe(400)
    const error = errorOf(response)
    expect(error.code).toBe('VALIDATION')
    expect(error.message).toMatch(/message\.metadata: is nested more than 64 levels deep/)
    expect(error.message).toMatch(/jsonMaxDepth/)
    expect(error.details).toEqual({
      issues: [{ path: 'message.metadata', message: expect.stringContaining('jsonMaxDepth') }],
    })
    expect((await relay.spool.stats()).totalMessages).toBe(0)
  })

  it('is refused in payload data and in a batch, with the item named', async () => {
    const relay = await startTestRelay()
    const good = message({ subject: 'fine' })
    const poison = { ...message(), payload: { type: 'context_share', data: 'DEEP' } }
    // 100,000 levels: more than JSON.stringify itself could write, so the text is spliced in.
    const body = JSON.stringify({ items: [{ message: good }, { message: poison }] }).replace(
      '"DEEP"',
      nestedText(100_000),
    )
    const response = await relay.signed('architect', 'POST', '/api/v1/messages/batch', body)
    expect(response.statusCode).toBe(400)
    expect(errorOf(response).message).toMatch(
      /items\.1\.message\.payload\.data: is nested more than 64 levels/,
    )
    expect((await relay.spool.stats()).totalMessages).toBe(0)
  })

  it('is accepted at exactly 64 levels and delivered intact', async () => {
    const relay = await startTestRelay()
    const deepest = { ...message(), metadata: nested(64) }
    const response = await relay.signed('architect', 'POST', '/api/v1/messages', { message: deepest })
    expect(response.statusCode).toBe(200)
    const [claimed] = await relay.client.claim('builder')
    expect(claimed?.message.metadata).toEqual(nested(64))
  })

  it('is refused as agent profile metadata', async () => {
    const relay = await startTestRelay()
    const body = `{"capabilities":["code"],"metadata":${nestedText(3_000)}}`
    const response = await relay.signed('builder', 'PUT', '/api/v1/agents/builder', body)
    expect(response.statusCode).toBe(400)
    expect(errorOf(response)).toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/metadata: .*jsonMaxDepth/),
    })
  })
})

describe('a poison message already in the relay database', () => {
  it("is dead-lettered alone; the recipient's claim gets the others", async () => {
    const relay = await startTestRelay()
    for (const subject of ['first', 'poison', 'second']) {
      await relay.client.send(message({ subject }))
    }
    // Written past the relay's checks, as a relay of an older version could have stored it.
    sqliteConnectionOf(relay.spool)
      .prepare("UPDATE messages SET metadata = ? WHERE subject = 'poison'")
      .run(`{"deep":${nestedText(3_000)}}`)
    const claimed = await relay.client.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.subject)).toEqual(['first', 'second'])
    expect((await relay.spool.stats()).deliveries).toMatchObject({ failed: 1, leased: 2 })
  })
})

describe('a conversation id with control characters', () => {
  it('is refused with 400 naming routing.conversationId', async () => {
    const relay = await startTestRelay()
    for (const conversationId of ['conv\u0000x', 'conv\u001b]52;c;aGk=\u0007']) {
      const bad = { ...message(), routing: { ...message().routing, conversationId } }
      const response = await relay.signed('architect', 'POST', '/api/v1/messages', { message: bad })
      expect(response.statusCode).toBe(400)
      expect(errorOf(response)).toMatchObject({
        code: 'VALIDATION',
        message: expect.stringMatching(/message\.routing\.conversationId: may contain only letters, digits/),
      })
    }
    expect((await relay.spool.stats()).totalMessages).toBe(0)
  })
})
