import { join } from 'node:path'
import type { AgentProfileInput, TransportKind } from '@agent-comm/protocol'
import { ManualClock } from '@agent-comm/protocol'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { Registry, SqliteRegistryStore } from '../src/index.js'
import { minutes, onCleanup, openRegistry, START, tempDir } from './helpers.js'

const TRANSPORTS: TransportKind[] = ['sqlite', 'http', 'file']

/** Agent `i` of a generated fleet: varied capabilities, devices and transports, each derivable from `i`. */
function fleetAgent(i: number): AgentProfileInput & { capabilities: string[] } {
  const transport = TRANSPORTS[i % 3]!
  const capabilities = [`lang-${i % 10}`]
  if (i % 7 === 0) capabilities.push('review')
  if (i % 100 === 0) capabilities.push('deploy')
  return {
    agentId: `agent-${String(i).padStart(4, '0')}`,
    capabilities,
    device: `host-${i % 4}`,
    transport,
    ...(transport === 'http' ? { relayUrl: 'https://relay.example.com' } : {}),
    ...(transport === 'file' ? { inboxDir: `/var/agent-comm/inbox/${i}` } : {}),
  }
}

const FLEET = Array.from({ length: 1000 }, (_, i) => fleetAgent(i))
const ids = (profiles: { agentId: string }[]): string[] => profiles.map((p) => p.agentId)
const idsWhere = (test: (agent: (typeof FLEET)[number], i: number) => boolean): string[] =>
  FLEET.filter(test).map((a) => a.agentId)

describe('listing and finding agents among a thousand', () => {
  it('finds exactly the agents with a capability, ordered by id', async () => {
    const { registry } = await openRegistry()
    for (const agent of FLEET) await registry.register(agent)

    const reviewers = await registry.findByCapability('review')
    expect(reviewers).toHaveLength(143)
    expect(ids(reviewers)).toEqual(idsWhere((a) => a.capabilities.includes('review')))
    expect(reviewers[1]).toMatchObject({ agentId: 'agent-0007', capabilities: ['lang-7', 'review'] })
    expect(ids(await registry.findByCapability('deploy'))).toEqual([
      'agent-0000',
      'agent-0100',
      'agent-0200',
      'agent-0300',
      'agent-0400',
      'agent-0500',
      'agent-0600',
      'agent-0700',
      'agent-0800',
      'agent-0900',
    ])
    expect(await registry.findByCapability('nobody-has-this')).toEqual([])
    expect(await registry.list()).toHaveLength(1000)
  })

  it('filters by capability, device and transport together', async () => {
    const { registry } = await openRegistry()
    for (const agent of FLEET) await registry.register(agent)

    expect(ids(await registry.list({ device: 'host-2' }))).toEqual(idsWhere((a) => a.device === 'host-2'))
    expect(ids(await registry.list({ transport: 'file' }))).toEqual(idsWhere((a) => a.transport === 'file'))
    const combined = await registry.list({ capability: 'review', device: 'host-1', transport: 'http' })
    expect(ids(combined)).toEqual(
      idsWhere((a) => a.capabilities.includes('review') && a.device === 'host-1' && a.transport === 'http'),
    )
    expect(combined.length).toBeGreaterThan(0)
    for (const profile of combined) expect(profile.relayUrl).toBe('https://relay.example.com')
  })

  it('filters on the status derived now, agreeing with the profiles it returns', async () => {
    const { registry, clock } = await openRegistry()
    // Agents 0-499 register first and go quiet; 500-999 register ten minutes later.
    for (const agent of FLEET.slice(0, 500)) await registry.register(agent)
    clock.advance(minutes(10))
    for (const agent of FLEET.slice(500)) await registry.register(agent)
    for (const i of [3, 600, 999]) await registry.setOffline(FLEET[i]!.agentId)

    const active = await registry.list({ status: 'active' })
    const inactive = await registry.list({ status: 'inactive' })
    const offline = await registry.list({ status: 'offline' })
    expect(ids(active)).toEqual(idsWhere((_, i) => i >= 500 && i !== 600 && i !== 999))
    expect(ids(inactive)).toEqual(idsWhere((_, i) => i < 500 && i !== 3))
    expect(ids(offline)).toEqual(['agent-0003', 'agent-0600', 'agent-0999'])
    expect(new Set(active.map((p) => p.status))).toEqual(new Set(['active']))
    expect(new Set(inactive.map((p) => p.status))).toEqual(new Set(['inactive']))
    expect(new Set(offline.map((p) => p.status))).toEqual(new Set(['offline']))

    const activeReviewers = await registry.list({ capability: 'review', status: 'active' })
    expect(ids(activeReviewers)).toEqual(
      idsWhere((a, i) => a.capabilities.includes('review') && i >= 500 && i !== 600 && i !== 999),
    )

    clock.advance(24 * 60 * 60_000)
    expect(await registry.list({ status: 'offline' })).toHaveLength(1000)
    expect(await registry.list({ status: 'active' })).toEqual([])
  })

  it('answers a capability lookup from the capability index, not by scanning every agent', async () => {
    const executed: string[] = []
    let recording = false
    const sqlite = new Database(join(tempDir(), 'explain.db'), {
      verbose: (statement) => {
        if (recording) executed.push(String(statement))
      },
    })
    onCleanup(() => {
      sqlite.close()
    })
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    const store = await SqliteRegistryStore.open({ sqlite })
    const registry = await Registry.open({ store, clock: new ManualClock(START) })
    for (const agent of FLEET) await registry.register(agent)
    sqlite.exec('ANALYZE')

    recording = true
    const found = await registry.findByCapability('deploy')
    recording = false
    expect(found).toHaveLength(10)

    // verbose reports each statement with its parameters bound, so it can be explained as it ran.
    const lookup = executed.filter((statement) => statement.includes('agent_capabilities'))
    expect(lookup).toHaveLength(1)
    const plan = sqlite.prepare(`EXPLAIN QUERY PLAN ${lookup[0]}`).all() as { detail: string }[]
    const details = plan.map((step) => step.detail)
    expect(details).toContainEqual(
      expect.stringMatching(/USING (COVERING )?INDEX agent_capabilities_capability_idx/),
    )
    expect(details.filter((detail) => detail.startsWith('SCAN'))).toEqual([])
  })
})
