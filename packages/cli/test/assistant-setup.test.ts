import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { describe, expect, it } from 'vitest'
import { cleanEnv, project, registerAgents, runCli, tempDir } from './helpers.js'

// biome-ignore lint/suspicious/noExplicitAny: parsed configuration files, read by key paths in assertions
type Doc = any

/** A temporary home and project folder, and a runner that uses them. */
function sandbox() {
  const home = tempDir()
  const cwd = tempDir()
  const db = join(cwd, 'data', 'coordination.db')
  const env = cleanEnv({ HOME: home, AGENT_COMM_DB_PATH: db })
  const run = (args: string[]) => runCli(args, { cwd, env })
  return { home, cwd, db, env, run }
}

function json(path: string): Doc {
  return JSON.parse(readFileSync(path, 'utf8'))
}

describe('agent-comm mcp install', () => {
  it('merges its server into Claude Code, Cursor, VS Code and Gemini configs without clobbering others', async () => {
    const s = sandbox()
    mkdirSync(join(s.cwd, '.cursor'), { recursive: true })
    writeFileSync(
      join(s.cwd, '.mcp.json'),
      JSON.stringify({ mcpServers: { other: { command: 'other-server' } }, extra: 1 }),
    )
    writeFileSync(
      join(s.cwd, '.cursor', 'mcp.json'),
      JSON.stringify({ mcpServers: { other: { command: 'x' } } }),
    )
    for (const client of ['claude-code', 'cursor', 'vscode', 'gemini']) {
      const run = await s.run(['mcp', 'install', '--client', client, '--agent', 'builder'])
      expect(run.code, run.stderr).toBe(0)
    }
    const claude = json(join(s.cwd, '.mcp.json'))
    expect(claude.extra).toBe(1)
    expect(claude.mcpServers.other).toEqual({ command: 'other-server' })
    const entry = claude.mcpServers['agent-comm']
    expect(entry.command).toBe(process.execPath)
    expect(entry.args[0]).toMatch(/bin[/\\]run\.js$/)
    expect(entry.args.slice(1)).toEqual(['mcp', '--agent', 'builder'])
    expect(entry.env.AGENT_COMM_DB_PATH).toBe(s.db)
    expect(json(join(s.cwd, '.cursor', 'mcp.json')).mcpServers.other).toEqual({ command: 'x' })
    expect(json(join(s.cwd, '.vscode', 'mcp.json')).servers['agent-comm']).toMatchObject({ type: 'stdio' })
    expect(json(join(s.cwd, '.gemini', 'settings.json')).mcpServers['agent-comm'].timeout).toBeGreaterThan(
      60_000,
    )
  })

  it('writes Codex TOML with its timeouts, keeping other servers, and replaces its own entry on reinstall', async () => {
    const s = sandbox()
    mkdirSync(join(s.home, '.codex'), { recursive: true })
    const config = join(s.home, '.codex', 'config.toml')
    writeFileSync(config, '# mine\nmodel = "o4"\n\n[mcp_servers.other]\ncommand = "other"\n')
    for (const agent of ['builder', 'reviewer']) {
      const run = await s.run(['mcp', 'install', '--client', 'codex', '--scope', 'user', '--agent', agent])
      expect(run.code, run.stderr).toBe(0)
    }
    const text = readFileSync(config, 'utf8')
    expect(text).toContain('# mine')
    const parsed = parseToml(text) as Doc
    expect(parsed.model).toBe('o4')
    expect(parsed.mcp_servers.other).toEqual({ command: 'other' })
    const entry = parsed.mcp_servers['agent-comm']
    expect(entry.args.slice(-3)).toEqual(['mcp', '--agent', 'reviewer'])
    expect(entry.startup_timeout_sec).toBeGreaterThan(10)
    expect(entry.tool_timeout_sec).toBeGreaterThan(60)
    expect(entry.env.AGENT_COMM_DB_PATH).toBe(s.db)
  })

  it('prints and writes nothing with --dry-run, and names the channel launch flag', async () => {
    const s = sandbox()
    const run = await s.run([
      'mcp',
      'install',
      '--client',
      'claude-code',
      '--agent',
      'builder',
      '--channel',
      '--dry-run',
      '--json',
    ])
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.launch).toBe('claude --dangerously-load-development-channels server:agent-comm')
    expect(JSON.parse(result.files[0].content).mcpServers['agent-comm'].args).toContain('--channel')
    expect(() => readFileSync(join(s.cwd, '.mcp.json'))).toThrow()
  })

  it('installs the inbox hooks for Claude Code and Codex, and doctor reports the entries', async () => {
    const s = sandbox()
    mkdirSync(join(s.cwd, '.claude'), { recursive: true })
    writeFileSync(
      join(s.cwd, '.claude', 'settings.json'),
      JSON.stringify({ hooks: { Stop: [{ hooks: [{ type: 'command', command: 'say done' }] }] } }),
    )
    expect(
      (await s.run(['mcp', 'install', '--client', 'claude-code', '--agent', 'builder', '--hooks'])).code,
    ).toBe(0)
    expect((await s.run(['hooks', 'install', '--client', 'claude-code', '--agent', 'builder'])).code).toBe(0)
    const settings = json(join(s.cwd, '.claude', 'settings.json'))
    expect(settings.hooks.Stop).toHaveLength(1)
    expect(settings.hooks.UserPromptSubmit).toHaveLength(1)
    expect(settings.hooks.UserPromptSubmit[0].hooks[0].command).toMatch(
      / inbox builder --new --format hook-json --client claude-code /,
    )
    expect((await s.run(['hooks', 'install', '--client', 'codex', '--agent', 'builder'])).code).toBe(0)
    expect(json(join(s.cwd, '.codex', 'hooks.json')).hooks.SessionStart).toHaveLength(1)
    expect(
      (parseToml(readFileSync(join(s.cwd, '.codex', 'config.toml'), 'utf8')) as Doc).features.codex_hooks,
    ).toBe(true)

    const doctor = await s.run(['mcp', 'doctor', '--no-start', '--agent', 'reviewer', '--json'])
    expect(doctor.code).toBe(1)
    const report = JSON.parse(doctor.stdout)
    expect(report.entries[0]).toMatchObject({ client: 'claude-code', scope: 'project', agent: 'builder' })
    expect(report.entries[0].problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^missing database/),
        'wrong agent: builder instead of reviewer',
      ]),
    )
  })
})

describe('agent-comm mcp doctor, server start', () => {
  it('reports a server that fails to start, and passes one that answers initialize', async () => {
    const s = sandbox()
    expect((await s.run(['register', 'builder', '-c', 'code', '-d', 'local'])).code).toBe(0)
    // The real server, as mcp install writes it (user scope of Cursor).
    expect(
      (await s.run(['mcp', 'install', '--client', 'cursor', '--scope', 'user', '--agent', 'builder'])).code,
    ).toBe(0)
    // A server whose script exists but dies before answering (as a broken build or a bad flag would).
    const crash = join(s.cwd, 'crash.js')
    writeFileSync(crash, "process.stderr.write('cannot load the database driver\\n'); process.exit(3)\n")
    writeFileSync(
      join(s.cwd, '.mcp.json'),
      JSON.stringify({
        mcpServers: {
          'agent-comm': {
            command: process.execPath,
            args: [crash, '--agent', 'builder'],
            env: { AGENT_COMM_DB_PATH: s.db },
          },
        },
      }),
    )
    const doctor = await s.run(['mcp', 'doctor', '--json'])
    expect(doctor.code, doctor.stderr).toBe(1)
    const report = JSON.parse(doctor.stdout)
    const entry = (client: string) =>
      report.entries.find((e: { client: string }) => e.client === client) as { problems: string[] }
    expect(entry('claude-code').problems).toEqual([
      'the server exited (3) before answering: cannot load the database driver',
    ])
    expect(entry('cursor').problems).toEqual([])

    // A command that is not there at all.
    writeFileSync(
      join(s.cwd, '.mcp.json'),
      JSON.stringify({
        mcpServers: {
          'agent-comm': {
            command: 'agent-comm-no-such-command',
            args: [],
            env: { AGENT_COMM_DB_PATH: s.db },
          },
        },
      }),
    )
    const missing = JSON.parse((await s.run(['mcp', 'doctor', '--json'])).stdout)
    expect(missing.entries[0].problems).toEqual([
      expect.stringMatching(/^the server does not start: .*ENOENT/),
    ])
  })
})

describe('agent-comm inbox --new', () => {
  it('shows only unclaimed mail new since the cursor of this client, briefly, then nothing', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    await p.ok(['send', 'architect', 'builder', 'first task', '--subject', 'one', '--priority', 'high'])
    await p.ok(['send', 'architect', 'builder', 'second task', '--subject', 'two'])
    const args = [
      'inbox',
      'builder',
      '--new',
      '--since-cursor',
      '--client',
      'claude-code',
      '--format',
      'hook-json',
    ]
    const first = await p.ok(args)
    const output = JSON.parse(first.stdout)
    expect(output.hookSpecificOutput.hookEventName).toBe('UserPromptSubmit')
    const context: string = output.hookSpecificOutput.additionalContext
    expect(context).toMatch(/^agent-comm: 2 new messages for builder: high from architect: "one"/)
    expect(context).not.toContain('first task')
    expect(context.length).toBeLessThan(600)
    expect((await p.ok(args)).stdout).toBe('')
    // Another client has its own cursor; claimed mail is not new.
    expect((await p.ok(['inbox', 'builder', '--new', '--since-cursor', '--client', 'codex'])).stdout).toMatch(
      /2 new messages/,
    )
    await p.ok(['poll', 'builder', '--limit', '10'])
    expect((await p.ok(['inbox', 'builder', '--new'])).stdout).toBe('')
  })
})
