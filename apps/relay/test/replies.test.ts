import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { errorOf, startTestRelay } from './helpers.js'

describe('claiming the reply to a request', () => {
  it('with `from`, takes only a reply sent by one of those agents, leaving a stranger’s message queued', async () => {
    const relay = await startTestRelay()
    const ids = new IdGenerator(relay.clock)
    const make = (fromAgent: string, toAgent: string, body: string, replyTo?: string) =>
      createMessage(
        { fromAgent, toAgent, body, ...(replyTo === undefined ? {} : { routing: { replyTo } }) },
        { clock: relay.clock, ids },
      )
    const request = make('architect', 'builder', 'review this')
    await relay.client.send(request)
    // "reviewer" learnt the request's id and answers first, in builder's place.
    await relay.client.send(make('reviewer', 'architect', 'approved', request.id))
    expect(await relay.client.claimReply('architect', request.id, { from: ['builder'] })).toBeUndefined()
    await relay.client.send(make('builder', 'architect', 'two remarks', request.id))
    const reply = await relay.client.claimReply('architect', request.id, { from: ['builder'] })
    expect(reply?.message).toMatchObject({ fromAgent: 'builder', body: 'two remarks' })
    const left = await relay.client.claim('architect')
    expect(left.map((c) => c.message.fromAgent)).toEqual(['reviewer'])
  })

  it('refuses an empty or invalid `from` with VALIDATION', async () => {
    const relay = await startTestRelay({ listen: false })
    for (const from of [[], ['not an id'], 'builder']) {
      const response = await relay.signed('architect', 'POST', '/api/v1/agents/architect/replies/m-1/claim', {
        from,
      })
      expect(response.statusCode).toBe(400)
      expect(errorOf(response)).toMatchObject({ code: 'VALIDATION' })
    }
  })
})
