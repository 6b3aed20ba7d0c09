import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { fakeHttpTransport, openCoordinator } from './helpers.js'

describe('routing', () => {
  it('delivers to a sqlite agent through the local spool', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder', capabilities: ['code'] })
    const sent = await coord.send(
      { fromAgent: 'architect', toAgent: 'builder', body: 'hi' },
      { allowUnregistered: true },
    )
    expect(sent.routes).toEqual([{ transport: 'sqlite', recipients: ['builder'] }])
    expect((await coord.status(sent.messageId)).deliveries).toHaveLength(1)
    expect((await coord.poll('builder')).map((c) => c.message.body)).toEqual(['hi'])
  })

  it('delivers to a file agent as a JSON file in its inbox folder', async () => {
    const { coord, root } = await openCoordinator()
    const inboxDir = join(root, 'files')
    await coord.register({ agentId: 'debugger', transport: 'file', inboxDir })
    await coord.register({ agentId: 'architect' })
    const sent = await coord.send({ fromAgent: 'architect', toAgent: 'debugger', body: 'look at this' })
    expect(sent.routes).toEqual([{ transport: 'file', recipients: ['debugger'] }])
    expect(existsSync(join(inboxDir, 'inbox', 'debugger', `${sent.messageId}.json`))).toBe(true)
    // Nothing in the local spool: the file transport holds it.
    expect(await coord.peek('debugger')).toEqual([])
    const [claimed] = await coord.poll('debugger')
    expect(claimed?.message.body).toBe('look at this')
    await coord.ack(claimed!)
    expect((await coord.status(sent.messageId)).deliveries[0]?.status).toBe('acked')
  })

  it('refuses a send to a file agent whose folder cannot be made, under /proc too, instead of hanging', async () => {
    const { coord } = await openCoordinator()
    // Node's recursive mkdir retries forever under /proc (ENOENT at every level), deaf to signals.
    await coord.register({ agentId: 'debugger', transport: 'file', inboxDir: '/proc/agent-comm-test/inbox' })
    await expect(
      coord.send({ fromAgent: 'architect', toAgent: 'debugger', body: 'x' }),
    ).rejects.toMatchObject({
      code: 'STORAGE',
      message: expect.stringContaining('/proc/agent-comm-test'),
    })
  })

  it('delivers to an http agent through its relay transport', async () => {
    const clock = new ManualClock()
    const http = await fakeHttpTransport(clock)
    const { coord } = await openCoordinator({ clock, http: () => http.transport })
    await coord.register({ agentId: 'remote-agent', transport: 'http', relayUrl: 'http://machine-b:8420' })
    await coord.register({ agentId: 'architect' })
    const sent = await coord.send({ fromAgent: 'architect', toAgent: 'remote-agent', body: 'over the wire' })
    expect(sent.routes).toEqual([{ transport: 'http', recipients: ['remote-agent'] }])
    expect(http.sends).toEqual([['remote-agent']])
    const [claimed] = await coord.poll('remote-agent')
    expect(claimed?.message.id).toBe(sent.messageId)
  })

  it('says how to fix it when an http agent has no relay transport configured', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'remote-agent', transport: 'http', relayUrl: 'http://machine-b:8420' })
    await expect(coord.send({ fromAgent: 'a', toAgent: 'remote-agent', body: 'x' })).rejects.toMatchObject({
      code: 'CONFIG',
      hint: expect.stringContaining('transport-http'),
    })
  })

  it('rejects a message to an unregistered agent, with the command that registers it', async () => {
    const { coord } = await openCoordinator()
    await expect(
      coord.send({ fromAgent: 'architect', toAgent: 'my-agent', body: 'x' }),
    ).rejects.toMatchObject({
      code: 'AGENT_NOT_FOUND',
      message: "Agent 'my-agent' not registered",
      hint: expect.stringContaining('agent-comm register my-agent'),
    })
    await expect(coord.poll('my-agent')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
    expect((await coord.stats()).totalMessages).toBe(0)
  })

  it('accepts a message to an unregistered agent when explicitly allowed', async () => {
    const { coord } = await openCoordinator({ settings: { allowUnregistered: true } })
    const sent = await coord.send({ fromAgent: 'architect', toAgent: 'newcomer', body: 'welcome' })
    expect(sent.deliveries).toBe(1)
    expect(await coord.poll('newcomer')).toHaveLength(1)
  })

  it('lets an unregistered agent poll what was sent to it; with nothing there, the name is refused', async () => {
    const { coord } = await openCoordinator()
    await coord.send(
      { fromAgent: 'architect', toAgent: 'newcomer', body: 'welcome' },
      { allowUnregistered: true },
    )
    const [claimed] = await coord.poll('newcomer')
    expect(claimed?.message.body).toBe('welcome')
    await coord.ack(claimed!)
    await expect(coord.poll('newcomer')).rejects.toMatchObject({
      code: 'AGENT_NOT_FOUND',
      hint: expect.stringContaining('agent-comm register newcomer'),
    })
    await expect(coord.poll('newcommer')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
  })

  it('fans a broadcast out to every registered agent except the sender, across transports', async () => {
    const clock = new ManualClock()
    const http = await fakeHttpTransport(clock)
    const { coord, root } = await openCoordinator({ clock, http: () => http.transport })
    await coord.register({ agentId: 'ops', capabilities: ['deploy'] })
    await coord.register({ agentId: 'builder', capabilities: ['code'] })
    await coord.register({ agentId: 'reviewer', capabilities: ['review', 'code'] })
    await coord.register({
      agentId: 'remote',
      transport: 'http',
      relayUrl: 'http://b:8420',
      capabilities: ['review'],
    })
    await coord.register({ agentId: 'debugger', transport: 'file', inboxDir: join(root, 'f') })
    const sent = await coord.send({ fromAgent: 'ops', toAgent: '*', body: 'deploy at noon' })
    expect(sent.deliveries).toBe(4)
    expect([...sent.recipients].sort()).toEqual(['builder', 'debugger', 'remote', 'reviewer'])
    expect(http.sends).toEqual([['remote']])
    for (const agent of ['builder', 'reviewer', 'remote', 'debugger']) {
      expect((await coord.poll(agent)).map((c) => c.message.id)).toEqual([sent.messageId])
    }
    expect(await coord.poll('ops')).toEqual([])
  })

  it('fans a capability target out to the agents that have it', async () => {
    const clock = new ManualClock()
    const http = await fakeHttpTransport(clock)
    const { coord } = await openCoordinator({ clock, http: () => http.transport })
    await coord.register({ agentId: 'builder', capabilities: ['code'] })
    await coord.register({ agentId: 'reviewer', capabilities: ['review', 'code'] })
    await coord.register({
      agentId: 'remote',
      transport: 'http',
      relayUrl: 'http://b:8420',
      capabilities: ['review'],
    })
    const sent = await coord.send({ fromAgent: 'reviewer', toAgent: 'capability:review', body: 'PR #12' })
    expect(sent).toMatchObject({ deliveries: 1, recipients: ['remote'] })
  })

  it('refuses a capability or broadcast send that reaches no agent, storing nothing', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'ops', capabilities: ['deploy'] })
    const none = await coord
      .send({ fromAgent: 'x', toAgent: 'capability:astrology', body: '?' })
      .catch((e: unknown) => e)
    expect(none).toMatchObject({ code: 'AGENT_NOT_FOUND', message: "No agent has capability 'astrology'" })
    // The sender itself does not count as a holder.
    await expect(
      coord.send({ fromAgent: 'ops', toAgent: 'capability:deploy', body: '?' }),
    ).rejects.toMatchObject({
      code: 'AGENT_NOT_FOUND',
    })
    await expect(coord.send({ fromAgent: 'ops', toAgent: '*', body: '?' })).rejects.toMatchObject({
      code: 'AGENT_NOT_FOUND',
      message: 'No agent to broadcast to: no other agent is registered',
    })
    expect((await coord.stats()).totalMessages).toBe(0)
  })
})

describe('status across transports', () => {
  it('finds a message held by a file agent’s transport from a fresh coordinator', async () => {
    const { coord, root, clock } = await openCoordinator()
    const inboxDir = join(root, 'files')
    await coord.register({ agentId: 'debugger', transport: 'file', inboxDir })
    const sent = await coord.send(
      { fromAgent: 'architect', toAgent: 'debugger', body: 'x' },
      { allowUnregistered: true },
    )
    const { createCoordinator, loadConfig } = await import('../src/index.js')
    const fresh = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: root }), { clock })
    try {
      expect((await fresh.status(sent.messageId)).deliveries[0]).toMatchObject({
        recipient: 'debugger',
        status: 'queued',
      })
      await expect(fresh.status('msg_nowhere')).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
    } finally {
      await fresh.close()
    }
  })
})
