import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createDatabase, project, registerAgents } from './helpers.js'

describe('register', () => {
  it('registers an agent and prints it as the agents list does', async () => {
    const p = project()
    const run = await p.ok(['register', 'agent-a', '-c', 'code, review', '-d', 'workstation'])
    expect(run.stdout).toBe(
      "Registered agent-a [active] caps=['code', 'review'] device=workstation transport=sqlite\n",
    )
    expect(run.stderr).toBe('')
  })

  it('prints the profile as JSON with --json', async () => {
    const p = project()
    const out = await p.json<{ agent: Record<string, unknown> }>([
      'register',
      'agent-a',
      '-c',
      'code',
      '-d',
      'lab',
      '--metadata',
      '{"model":"m1"}',
    ])
    expect(out.agent).toMatchObject({
      agentId: 'agent-a',
      capabilities: ['code'],
      device: 'lab',
      transport: 'sqlite',
      status: 'active',
      metadata: { model: 'm1' },
    })
    expect(typeof out.agent.registeredAt).toBe('string')
  })

  it('updates an agent registered again', async () => {
    const p = project()
    await p.ok(['register', 'agent-a', '-c', 'code', '-d', 'lab'])
    await p.ok(['register', 'agent-a', '-c', 'review', '-d', 'server'])
    const out = await p.json<{ agents: { capabilities: string[]; device: string }[] }>(['agents'])
    expect(out.agents).toEqual([expect.objectContaining({ capabilities: ['review'], device: 'server' })])
  })

  it('registers http and file agents with what their transport needs', async () => {
    const p = project()
    await p.ok([
      'register',
      'remote',
      '-c',
      'approve',
      '-d',
      'laptop',
      '--transport-type',
      'http',
      '--relay-url',
      'https://relay.example.com',
    ])
    await p.ok([
      'register',
      'watcher',
      '-c',
      'notify',
      '-d',
      'nas',
      '--transport-type',
      'file',
      '--inbox-dir',
      'inbox',
    ])
    const run = await p.ok(['agents'])
    expect(run.stdout).toContain("  remote [active] caps=['approve'] device=laptop transport=http\n")
    expect(run.stdout).toContain("  watcher [active] caps=['notify'] device=nas transport=file\n")
    const out = await p.json<{ agents: { agentId: string; relayUrl?: string; inboxDir?: string }[] }>([
      'agents',
    ])
    expect(out.agents).toEqual([
      expect.objectContaining({ agentId: 'remote', relayUrl: 'https://relay.example.com' }),
      expect.objectContaining({ agentId: 'watcher', inboxDir: join(p.dir, 'inbox') }),
    ])
  })

  it('refuses an http agent without --relay-url with exit code 2', async () => {
    const p = project()
    const run = await p.run(['register', 'remote', '-c', 'x', '-d', 'l', '--transport-type', 'http'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^Error: Invalid --relay-url: is required for transport 'http'/)
    expect(run.stderr).toContain('Change --relay-url as the error says')
  })

  it('refuses --relay-url without --transport-type http with exit code 2, rather than register a local agent', async () => {
    const p = project()
    const run = await p.run([
      'register',
      'remote',
      '-c',
      'x',
      '-d',
      'l',
      '--relay-url',
      'https://relay.example.com',
    ])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^Error: Invalid --relay-url: is only used by transport 'http', not 'sqlite'/)
    expect((await p.json<{ agents: unknown[] }>(['agents'])).agents).toEqual([])
  })

  it('refuses --metadata that is not JSON with exit code 2', async () => {
    const p = project()
    const run = await p.run(['register', 'a', '-c', 'x', '-d', 'l', '--metadata', '{model: 1}'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^Error: Invalid --metadata: not valid JSON/)
    expect(run.stdout).toBe('')
  })

  it('refuses --metadata that is JSON but not an object with exit code 2', async () => {
    const p = project()
    const run = await p.run(['register', 'a', '-c', 'x', '-d', 'l', '--metadata', '[1,2]', '--json'])
    expect(run.code).toBe(2)
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'VALIDATION' } })
  })

  it('refuses an invalid agent id with exit code 2', async () => {
    const p = project()
    const run = await p.run(['register', 'bad name', '-c', 'x', '-d', 'l'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('may contain only letters, digits')
  })

  it('requires -c and -d as the original did', async () => {
    const p = project()
    const run = await p.run(['register', 'a'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/Missing required flag/)
  })
})

describe('agents', () => {
  it('lists agents in the original format', async () => {
    const p = project()
    await p.ok(['register', 'agent-a', '-c', 'code,review', '-d', 'workstation'])
    await p.ok(['register', 'agent-b', '-c', 'research,summarize', '-d', 'server'])
    const run = await p.ok(['agents'])
    expect(run.stdout).toBe(
      [
        'Registered agents (2):',
        "  agent-a [active] caps=['code', 'review'] device=workstation transport=sqlite",
        "  agent-b [active] caps=['research', 'summarize'] device=server transport=sqlite",
        '',
      ].join('\n'),
    )
  })

  it('filters by capability and status', async () => {
    const p = project()
    await p.ok(['register', 'agent-a', '-c', 'code', '-d', 'w'])
    await p.ok(['register', 'agent-b', '-c', 'research', '-d', 's'])
    const byCapability = await p.json<{ count: number; agents: { agentId: string }[] }>([
      'agents',
      '--capability',
      'research',
    ])
    expect(byCapability.count).toBe(1)
    expect(byCapability.agents.map((a) => a.agentId)).toEqual(['agent-b'])
    const offline = await p.json<{ count: number }>(['agents', '--status', 'offline'])
    expect(offline.count).toBe(0)
    expect((await p.ok(['agents', '--status', 'offline'])).stdout).toBe('No registered agents match.\n')
  })

  it('says so when no agent is registered', async () => {
    const p = project()
    await createDatabase(p)
    expect((await p.ok(['agents'])).stdout).toBe('No agents registered.\n')
    expect(await p.json(['agents'])).toEqual({ count: 0, agents: [] })
  })

  it('refuses an unknown status with exit code 2', async () => {
    const p = project()
    const run = await p.run(['agents', '--status', 'asleep'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('Expected --status=asleep to be one of: active, inactive, offline')
  })
})

describe('deregister', () => {
  it('removes an agent', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    expect((await p.ok(['deregister', 'agent-a'])).stdout).toBe('Deregistered agent-a\n')
    const out = await p.json<{ agents: { agentId: string }[] }>(['agents'])
    expect(out.agents.map((a) => a.agentId)).toEqual(['agent-b'])
    expect(await p.json(['deregister', 'agent-b'])).toEqual({ agentId: 'agent-b', deregistered: true })
  })

  it('fails with exit code 3 for an unknown agent, pointing at the agents there are rather than at register', async () => {
    const p = project()
    await createDatabase(p)
    const run = await p.run(['deregister', 'ghost'])
    expect(run.code).toBe(3)
    expect(run.stderr).toBe(
      "Error: Agent 'ghost' not registered\nNothing to remove: 'ghost' is not registered (or was removed already). agent-comm agents lists the registered agents.\n",
    )
  })
})

describe('heartbeat', () => {
  it('marks an agent alive', async () => {
    const p = project()
    await registerAgents(p, 'agent-a')
    const run = await p.ok(['heartbeat', 'agent-a'])
    expect(run.stdout).toMatch(/^Heartbeat: agent-a \[active\] .* last seen \d{4}-/)
    const out = await p.json<{ agent: { agentId: string; status: string; lastSeen: string } }>([
      'heartbeat',
      'agent-a',
    ])
    expect(out.agent).toMatchObject({ agentId: 'agent-a', status: 'active' })
  })

  it('fails with exit code 3 for an unknown agent', async () => {
    const p = project()
    await createDatabase(p)
    const run = await p.run(['heartbeat', 'ghost', '--json'])
    expect(run.code).toBe(3)
    expect(JSON.parse(run.stdout)).toEqual({
      error: {
        code: 'AGENT_NOT_FOUND',
        message: "Agent 'ghost' not registered",
        hint: 'Register it first: agent-comm register ghost -c <capabilities> -d <device>',
      },
    })
  })
})
