import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { errorOf, startTestRelay } from './helpers.js'

describe('group messages held for agents that register with the relay later', () => {
  it('stores a capability message nobody has yet and hands it to each later holder once', async () => {
    const relay = await startTestRelay()
    const ids = new IdGenerator(relay.clock)
    const message = createMessage(
      { fromAgent: 'architect', toAgent: 'capability:audit', body: 'Audit auth' },
      { clock: relay.clock, ids },
    )
    const sent = await relay.client.send(message, { holdForFutureRecipients: true })
    expect(sent).toMatchObject({ messageId: message.id, deliveries: 0 })
    expect(await relay.spool.status(message.id)).toMatchObject({
      heldUntil: expect.any(String),
      deliveries: [],
    })

    // A registration with a relay URL (how a remote agent describes itself) still receives at the relay.
    await relay.client.register({ agentId: 'reviewer', capabilities: ['audit'] })
    await relay.client.register({
      agentId: 'tester',
      capabilities: ['audit'],
      transport: 'http',
      relayUrl: relay.url,
    })
    await relay.client.register({ agentId: 'reviewer', capabilities: ['audit', 'code'] })
    await relay.client.register({ agentId: 'architect', capabilities: ['audit'] })
    for (const agent of ['reviewer', 'tester']) {
      const [claimed] = await relay.client.claim(agent)
      expect(claimed?.message.id).toBe(message.id)
    }
    expect(await relay.client.claim('architect')).toEqual([])
    const status = await relay.client.status(message.id, { as: 'architect' })
    expect(status.deliveries.map((d) => d.recipient).sort()).toEqual(['reviewer', 'tester'])
  })

  it('holds batch items too, and refuses to hold a direct message before storing anything', async () => {
    const relay = await startTestRelay({ listen: false })
    const ids = new IdGenerator(relay.clock)
    const make = (toAgent: string) =>
      createMessage({ fromAgent: 'architect', toAgent, body: 'x' }, { clock: relay.clock, ids })
    const direct = await relay.signed('architect', 'POST', '/api/v1/messages', {
      message: make('builder'),
      holdForFutureRecipients: true,
    })
    expect(direct.statusCode).toBe(400)
    expect(errorOf(direct)).toMatchObject({ code: 'VALIDATION' })
    expect((await relay.spool.stats()).totalMessages).toBe(0)

    const everyone = make('*')
    const batch = await relay.signed('architect', 'POST', '/api/v1/messages/batch', {
      items: [{ message: everyone, holdForFutureRecipients: true }],
    })
    expect(batch.statusCode).toBe(200)
    await relay.registry.register({ agentId: 'lead' })
    expect((await relay.spool.status(everyone.id)).deliveries.map((d) => d.recipient)).toEqual(['lead'])
  })

  it('refuses a group message that reaches nobody and is not held (404 AGENT_NOT_FOUND), storing nothing', async () => {
    const relay = await startTestRelay({ listen: false })
    const ids = new IdGenerator(relay.clock)
    const make = (toAgent: string) =>
      createMessage({ fromAgent: 'architect', toAgent, body: 'x' }, { clock: relay.clock, ids })
    await relay.registry.register({ agentId: 'architect', capabilities: ['audit'] })
    const nobody = await relay.signed('architect', 'POST', '/api/v1/messages', {
      message: make('capability:audit'),
    })
    expect(nobody.statusCode).toBe(404)
    expect(errorOf(nobody)).toMatchObject({ code: 'AGENT_NOT_FOUND' })
    expect(errorOf(nobody).message).toContain("No agent has capability 'audit'")
    const everyone = await relay.signed('architect', 'POST', '/api/v1/messages/batch', {
      items: [{ message: make('*') }],
    })
    expect(everyone.statusCode).toBe(404)
    expect(errorOf(everyone)).toMatchObject({ code: 'AGENT_NOT_FOUND' })
    expect((await relay.spool.stats()).totalMessages).toBe(0)
  })
})
