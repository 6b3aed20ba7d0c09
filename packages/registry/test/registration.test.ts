import { AgentNotFoundError, ClosedError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { hours, minutes, openRegistry, START } from './helpers.js'

const iso = (ms: number): string => new Date(ms).toISOString()

describe('registering agents', () => {
  it('stores a new agent with the protocol defaults, seen and registered now', async () => {
    const { registry } = await openRegistry()
    const profile = await registry.register({ agentId: 'builder' })
    expect(profile).toEqual({
      agentId: 'builder',
      capabilities: [],
      device: 'local',
      transport: 'sqlite',
      status: 'active',
      lastSeen: iso(START),
      registeredAt: iso(START),
      metadata: {},
    })
    expect(await registry.get('builder')).toEqual(profile)
  })

  it('keeps every field it was given, capabilities in the order listed', async () => {
    const { registry } = await openRegistry()
    await registry.register({
      agentId: 'reviewer@laptop',
      capabilities: ['review', 'code', 'human-review'],
      device: 'laptop',
      transport: 'http',
      relayUrl: 'https://relay.example.com/',
      metadata: { model: 'opus', limits: { tokens: 200_000 }, tags: ['a', 'b'] },
    })
    expect(await registry.require('reviewer@laptop')).toMatchObject({
      capabilities: ['review', 'code', 'human-review'],
      device: 'laptop',
      transport: 'http',
      relayUrl: 'https://relay.example.com/',
      metadata: { model: 'opus', limits: { tokens: 200_000 }, tags: ['a', 'b'] },
    })
  })

  it('updates the profile on re-registration but keeps when the agent first registered', async () => {
    const { registry, clock } = await openRegistry()
    await registry.register({
      agentId: 'builder',
      capabilities: ['code', 'test'],
      device: 'laptop',
      transport: 'http',
      relayUrl: 'https://relay.example.com',
      metadata: { version: 1 },
    })
    clock.advance(hours(3))
    const updated = await registry.register({
      agentId: 'builder',
      capabilities: ['deploy'],
      device: 'server',
      metadata: { version: 2 },
    })
    expect(updated).toEqual({
      agentId: 'builder',
      capabilities: ['deploy'],
      device: 'server',
      transport: 'sqlite',
      status: 'active',
      lastSeen: iso(START + hours(3)),
      registeredAt: iso(START),
      metadata: { version: 2 },
    })
    expect(await registry.get('builder')).toEqual(updated)
    expect(await registry.findByCapability('code')).toEqual([])
    expect((await registry.findByCapability('deploy')).map((p) => p.agentId)).toEqual(['builder'])
  })

  it('stores a capability listed twice once, where it was first listed', async () => {
    const { registry } = await openRegistry()
    const profile = await registry.register({ agentId: 'builder', capabilities: ['code', 'test', 'code'] })
    expect(profile.capabilities).toEqual(['code', 'test'])
  })

  it('ignores status, lastSeen and registeredAt in the input: the registry owns them', async () => {
    const { registry } = await openRegistry()
    const profile = await registry.register({
      agentId: 'builder',
      status: 'offline',
      lastSeen: '2020-01-01T00:00:00.000Z',
      registeredAt: '2020-01-01T00:00:00.000Z',
    })
    expect(profile).toMatchObject({ status: 'active', lastSeen: iso(START), registeredAt: iso(START) })
  })

  it('accepts a profile it returned, so a read-modify-register round trip works', async () => {
    const { registry, clock } = await openRegistry()
    const first = await registry.register({ agentId: 'builder', capabilities: ['code'] })
    clock.advance(minutes(1))
    const again = await registry.register({ ...first, capabilities: [...first.capabilities, 'test'] })
    expect(again).toMatchObject({ capabilities: ['code', 'test'], registeredAt: first.registeredAt })
  })
})

describe('looking agents up', () => {
  it('returns undefined from get and throws a not-found error from require for an unknown agent', async () => {
    const { registry } = await openRegistry()
    expect(await registry.get('ghost')).toBeUndefined()
    const error = await registry.require('ghost').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AgentNotFoundError)
    expect(error).toMatchObject({
      code: 'AGENT_NOT_FOUND',
      message: "Agent 'ghost' not registered",
      hint: expect.stringContaining('agent-comm register ghost'),
      details: { agentId: 'ghost' },
    })
  })

  it('sees an agent registered through another registry on the same database at once', async () => {
    const { registry, spool } = await openRegistry()
    const { Registry } = await import('../src/index.js')
    const other = await Registry.open({ path: spool.path })
    try {
      await other.register({ agentId: 'elsewhere', capabilities: ['review'] })
      expect((await registry.require('elsewhere')).capabilities).toEqual(['review'])
    } finally {
      await other.close()
    }
  })
})

describe('deregistering agents', () => {
  it('removes the agent and its capabilities', async () => {
    const { registry } = await openRegistry()
    await registry.register({ agentId: 'builder', capabilities: ['code'] })
    await registry.register({ agentId: 'tester', capabilities: ['code'] })
    await registry.deregister('builder')
    expect(await registry.get('builder')).toBeUndefined()
    expect((await registry.findByCapability('code')).map((p) => p.agentId)).toEqual(['tester'])
    expect((await registry.list()).map((p) => p.agentId)).toEqual(['tester'])
  })

  it('refuses to deregister an agent that is not registered, with a hint that does not say to register it', async () => {
    const { registry } = await openRegistry()
    await expect(registry.deregister('ghost')).rejects.toMatchObject({
      code: 'AGENT_NOT_FOUND',
      message: "Agent 'ghost' not registered",
      hint: expect.stringMatching(/^Nothing to remove: 'ghost' is not registered .*agent-comm agents/),
    })
  })

  it('starts a fresh registration date when a deregistered agent registers again', async () => {
    const { registry, clock } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    await registry.deregister('builder')
    clock.advance(hours(1))
    expect((await registry.register({ agentId: 'builder' })).registeredAt).toBe(iso(START + hours(1)))
  })
})

describe('closing', () => {
  it('refuses calls after close but leaves the spool it shares a connection with open', async () => {
    const { registry, spool } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    await registry.close()
    await registry.close()
    await expect(registry.get('builder')).rejects.toBeInstanceOf(ClosedError)
    await expect(registry.register({ agentId: 'tester' })).rejects.toMatchObject({ code: 'CLOSED' })
    const { messageId } = await spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'still open' })
    expect((await spool.status(messageId)).message.body).toBe('still open')
  })
})
