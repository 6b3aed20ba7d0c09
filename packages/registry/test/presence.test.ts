import { ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { DEFAULT_ACTIVE_WINDOW_MS, DEFAULT_OFFLINE_AFTER_MS, Registry } from '../src/index.js'
import { hours, minutes, openRegistry, START } from './helpers.js'

const iso = (ms: number): string => new Date(ms).toISOString()

describe('presence derived from when an agent was last seen', () => {
  it('defaults to five minutes active and a day before offline', () => {
    expect(DEFAULT_ACTIVE_WINDOW_MS).toBe(minutes(5))
    expect(DEFAULT_OFFLINE_AFTER_MS).toBe(hours(24))
  })

  it('goes from active to inactive after five minutes and to offline after a day', async () => {
    const { registry, clock } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    const status = async () => (await registry.require('builder')).status

    clock.advance(minutes(5) - 1)
    expect(await status()).toBe('active')
    clock.advance(1)
    expect(await status()).toBe('inactive')
    clock.advance(hours(24) - minutes(5) - 1)
    expect(await status()).toBe('inactive')
    clock.advance(1)
    expect(await status()).toBe('offline')
  })

  it('follows the windows it was opened with', async () => {
    const { registry, clock } = await openRegistry({ activeWindowMs: 1000, offlineAfterMs: 5000 })
    await registry.register({ agentId: 'builder' })
    clock.advance(1000)
    expect((await registry.require('builder')).status).toBe('inactive')
    clock.advance(4000)
    expect((await registry.require('builder')).status).toBe('offline')
  })

  it('counts the registered agents by the presence they have now', async () => {
    const { registry, clock } = await openRegistry()
    expect(await registry.countByStatus()).toEqual({ active: 0, inactive: 0, offline: 0 })
    await registry.register({ agentId: 'sleeper' })
    clock.advance(hours(25))
    await registry.register({ agentId: 'idle' })
    clock.advance(minutes(10))
    await registry.register({ agentId: 'builder' })
    await registry.register({ agentId: 'reviewer' })
    await registry.register({ agentId: 'gone' })
    await registry.setOffline('gone')
    expect(await registry.countByStatus()).toEqual({ active: 2, inactive: 1, offline: 2 })
  })

  it('revives an inactive or offline agent on heartbeat', async () => {
    const { registry, clock } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    clock.advance(hours(30))
    expect((await registry.require('builder')).status).toBe('offline')
    const revived = await registry.heartbeat('builder')
    expect(revived).toMatchObject({
      status: 'active',
      lastSeen: iso(START + hours(30)),
      registeredAt: iso(START),
    })
    expect(await registry.require('builder')).toEqual(revived)
  })

  it('marks an agent offline on request however recently it was seen, until it sends a heartbeat', async () => {
    const { registry, clock } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    expect((await registry.setOffline('builder')).status).toBe('offline')
    clock.advance(minutes(1))
    expect(await registry.touch('builder')).toBe(true)
    const touched = await registry.require('builder')
    expect(touched).toMatchObject({ status: 'offline', lastSeen: iso(START + minutes(1)) })
    expect((await registry.heartbeat('builder')).status).toBe('active')
  })

  it('clears an explicit offline mark when the agent registers again', async () => {
    const { registry } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    await registry.setOffline('builder')
    expect((await registry.register({ agentId: 'builder' })).status).toBe('active')
  })

  it('throws a not-found error on heartbeat or setOffline of an unknown agent', async () => {
    const { registry } = await openRegistry()
    await expect(registry.heartbeat('ghost')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
    await expect(registry.setOffline('ghost')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
  })
})

describe('touching an agent', () => {
  it('refreshes lastSeen so an inactive agent is active again', async () => {
    const { registry, clock } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    clock.advance(minutes(10))
    expect((await registry.require('builder')).status).toBe('inactive')
    expect(await registry.touch('builder')).toBe(true)
    expect(await registry.require('builder')).toMatchObject({
      status: 'active',
      lastSeen: iso(START + minutes(10)),
    })
  })

  it('resolves false, without error, for an agent that is not registered', async () => {
    const { registry } = await openRegistry()
    expect(await registry.touch('ghost')).toBe(false)
    expect(await registry.get('ghost')).toBeUndefined()
  })

  it('skips the write when the agent was seen less than a second ago', async () => {
    const { registry, clock } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    clock.advance(999)
    expect(await registry.touch('builder')).toBe(true)
    expect((await registry.require('builder')).lastSeen).toBe(iso(START))
    clock.advance(1)
    expect(await registry.touch('builder')).toBe(true)
    expect((await registry.require('builder')).lastSeen).toBe(iso(START + 1000))
  })

  it('never moves lastSeen back when a process with a slower clock reports in', async () => {
    const { registry, spool } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    const behind = await Registry.open({
      spool,
      clock: new ManualClock(START - hours(2)),
    })
    try {
      await behind.heartbeat('builder')
      await behind.register({ agentId: 'builder', capabilities: ['code'] })
      expect((await registry.require('builder')).lastSeen).toBe(iso(START))
    } finally {
      await behind.close()
    }
  })
})
