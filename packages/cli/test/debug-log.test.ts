import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createDatabase, type Project, project, registerAgents, runCli } from './helpers.js'

/**
 * Registers one agent per transport; the relay URL carries a token a debug line must not show (a URL with
 * `user:password@` is refused at registration: every agent can read a profile).
 */
async function registerOnEachTransport(p: Project): Promise<string> {
  await registerAgents(p, 'agent-a')
  const inbox = join(p.dir, 'inboxes')
  mkdirSync(inbox)
  await p.ok([
    'register',
    'agent-f',
    '-c',
    'x',
    '-d',
    'local',
    '--transport-type',
    'file',
    '--inbox-dir',
    inbox,
  ])
  await p.ok([
    'register',
    'agent-h',
    '-c',
    'x',
    '-d',
    'local',
    '--transport-type',
    'http',
    '--relay-url',
    // A query is not shown either (a token parameter is refused at registration: every agent reads profiles).
    'https://relay.example:8420/?tenant=s3cret',
  ])
  return inbox
}

describe('AGENT_COMM_LOG_LEVEL=debug', () => {
  it('says on stderr which database and transports the command works with, and nothing on stdout', async () => {
    const p = project()
    await createDatabase(p)
    const run = await p.run(['agents', '--json'])
    expect(run.stderr).toBe('')
    const debug = await runCli(['agents', '--json'], {
      cwd: p.dir,
      env: { ...p.env, AGENT_COMM_LOG_LEVEL: 'DEBUG' },
    })
    expect(debug.code).toBe(0)
    expect(JSON.parse(debug.stdout)).toEqual({ count: 0, agents: [] })
    expect(debug.stderr).toBe(
      `[debug] database ${p.db} (read-write), project root ${p.dir}; no agents registered; unregistered recipients and new agents use sqlite (the database)\n`,
    )
  })

  it('names the transports the registered agents use, with their inbox folders and relays, and no secret', async () => {
    const p = project()
    const inbox = await registerOnEachTransport(p)
    const debug = await runCli(['agents', '--json'], {
      cwd: p.dir,
      env: { ...p.env, AGENT_COMM_LOG_LEVEL: 'debug', AGENT_COMM_SECRET_AGENT_H: 'topsecretvalue' },
    })
    expect(debug.code).toBe(0)
    expect(debug.stderr).toContain(
      `; 3 agents: 1 sqlite, 1 file (inbox folder ${inbox}), 1 http (relay https://relay.example:8420); `,
    )
    for (const secret of ['s3cret', 'topsecretvalue']) expect(debug.stderr).not.toContain(secret)
  })

  it('has agent-comm mcp say the same on stderr', async () => {
    const p = project()
    const inbox = await registerOnEachTransport(p)
    const debug = await runCli(['mcp'], {
      cwd: p.dir,
      env: { ...p.env, AGENT_COMM_LOG_LEVEL: 'debug', AGENT_COMM_SECRET_AGENT_H: 'topsecretvalue' },
      input: '',
    })
    expect(debug.code).toBe(0)
    expect(debug.stdout).toBe('')
    const line = debug.stderr.split('\n').find((l) => l.startsWith('[agent-comm-mcp] [debug] setup '))
    expect(JSON.parse(line!.slice('[agent-comm-mcp] [debug] setup '.length))).toEqual({
      database: p.db,
      projectRoot: p.dir,
      agents: `3 agents: 1 sqlite, 1 file (inbox folder ${inbox}), 1 http (relay https://relay.example:8420)`,
      unregisteredTransport: 'sqlite',
      relayDataDir: null,
    })
    for (const secret of ['s3cret', 'topsecretvalue']) expect(debug.stderr).not.toContain(secret)
  })
})
