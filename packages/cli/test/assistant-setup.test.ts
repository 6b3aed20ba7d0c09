import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { describe, expect, it } from 'vitest'
import { hookCommand, hookProgram } from '../src/client-config.js'
import { cleanEnv, filesUnder, project, registerAgents, runCli, tempDir } from './helpers.js'

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

describe('agent-comm mcp install, Codex config.toml', () => {
  const codexConfig = (dir: string) => join(dir, '.codex', 'config.toml')
  const toml = (path: string): Doc => parseToml(readFileSync(path, 'utf8'))

  it('keeps its server entry beside the hooks feature flag with --hooks, in project and user config', async () => {
    const s = sandbox()
    mkdirSync(join(s.cwd, '.codex'), { recursive: true })
    writeFileSync(codexConfig(s.cwd), '[mcp_servers.other]\ncommand = "foo"\n')
    const project = await s.run(['mcp', 'install', '--client', 'codex', '--agent', 'builder', '--hooks'])
    expect(project.code, project.stderr).toBe(0)
    const user = await s.run([
      ...['mcp', 'install', '--client', 'codex', '--agent', 'builder', '--hooks', '--scope', 'user'],
    ])
    expect(user.code, user.stderr).toBe(0)
    for (const config of [toml(codexConfig(s.cwd)), toml(codexConfig(s.home))]) {
      expect(config.mcp_servers['agent-comm'].args.slice(-3)).toEqual(['mcp', '--agent', 'builder'])
      expect(config.features.codex_hooks).toBe(true)
    }
    expect(toml(codexConfig(s.cwd)).mcp_servers.other).toEqual({ command: 'foo' })
  })

  it('replaces its own inline-table entry, keeping comments and other servers, and leaves valid TOML', async () => {
    const s = sandbox()
    mkdirSync(join(s.cwd, '.codex'), { recursive: true })
    writeFileSync(
      codexConfig(s.cwd),
      '# my servers\n[mcp_servers]\nagent-comm = { command = "old" }\nother = { command = "foo" } # keep me\n',
    )
    const run = await s.run(['mcp', 'install', '--client', 'codex', '--agent', 'builder'])
    expect(run.code, run.stderr).toBe(0)
    const text = readFileSync(codexConfig(s.cwd), 'utf8')
    expect(text).toContain('# my servers')
    expect(text).toContain('# keep me')
    const config = parseToml(text) as Doc
    expect(config.mcp_servers.other).toEqual({ command: 'foo' })
    expect(config.mcp_servers['agent-comm'].command).toBe(process.execPath)
  })

  it('refuses a config.toml that is not valid TOML, changing nothing, and doctor reports it', async () => {
    const s = sandbox()
    mkdirSync(join(s.cwd, '.codex'), { recursive: true })
    const broken = 'model = "o3\nname = = 2\n'
    writeFileSync(codexConfig(s.cwd), broken)
    for (const args of [
      ['mcp', 'install', '--client', 'codex', '--agent', 'builder'],
      ['hooks', 'install', '--client', 'codex', '--agent', 'builder'],
    ]) {
      const run = await s.run(args)
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(
        /config\.toml is not valid TOML \(.*\); fix it or move it away, nothing was changed/,
      )
    }
    expect(readFileSync(codexConfig(s.cwd), 'utf8')).toBe(broken)
    const doctor = await s.run(['mcp', 'doctor', '--no-start', '--json'])
    expect(doctor.code).toBe(1)
    expect(JSON.parse(doctor.stdout).entries[0].problems[0]).toMatch(/is not valid TOML/)
  })
})

describe('agent-comm mcp doctor, hooks', () => {
  it('installs hooks for AGENT_COMM_AGENT without --agent, and without either says both ways (exit 2)', async () => {
    const s = sandbox()
    const none = await s.run(['hooks', 'install', '--client', 'codex', '--dry-run'])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('--agent <id> (or set AGENT_COMM_AGENT)')
    const fromEnv = await runCli(['hooks', 'install', '--client', 'codex', '--dry-run'], {
      cwd: s.cwd,
      env: { ...s.env, AGENT_COMM_AGENT: 'builder' },
    })
    expect(fromEnv.code).toBe(0)
    expect(fromEnv.stdout).toContain('inbox builder --new')
  })

  it('reports inbox hooks installed for a client that has no agent-comm server', async () => {
    const s = sandbox()
    expect((await s.run(['hooks', 'install', '--client', 'codex', '--agent', 'builder'])).code).toBe(0)
    const doctor = await s.run(['mcp', 'doctor', '--no-start', '--json'])
    expect(doctor.code).toBe(1)
    const [entry] = JSON.parse(doctor.stdout).entries
    expect(entry).toMatchObject({ client: 'codex', scope: 'project', agent: 'builder' })
    expect(entry.problems[0]).toMatch(
      /hooks for builder are installed but agent-comm's MCP server is not configured/,
    )
  })
})

describe('agent-comm mcp doctor, after agent-comm moved (an upgrade, another Node.js version)', () => {
  it('names the path that is gone, in the server entry and the hooks, and the install that writes them again', async () => {
    const s = sandbox()
    expect((await s.run(['register', 'builder', '-c', 'code', '-d', 'local'])).code).toBe(0)
    expect(
      (await s.run(['mcp', 'install', '--client', 'claude-code', '--agent', 'builder', '--hooks'])).code,
    ).toBe(0)
    // What an installation that is gone left: every entry names its bin by absolute path.
    const bin = json(join(s.cwd, '.mcp.json')).mcpServers['agent-comm'].args[0] as string
    const gone = '/opt/agent-comm-0.1.0/bin/run.js'
    for (const file of [join(s.cwd, '.mcp.json'), join(s.cwd, '.claude', 'settings.json')]) {
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll(bin, gone))
    }
    const doctor = await s.run(['mcp', 'doctor', '--no-start', '--json'])
    expect(doctor.code).toBe(1)
    const problems = JSON.parse(doctor.stdout).entries.flatMap((entry: Doc) => entry.problems)
    const here = `${process.execPath} ${bin}`
    expect(problems).toEqual([
      `stale path: ${gone}; agent-comm or Node.js was moved or reinstalled (an upgrade, another Node.js version); write it again from this installation: ${here} mcp install --client claude-code --agent builder`,
      `inbox hook for builder fails: it runs ${gone}, which is not there; agent-comm or Node.js was moved or reinstalled (an upgrade, another Node.js version); write it again from this installation: ${here} hooks install --client claude-code --agent builder`,
    ])
    // Doing as told puts both right.
    expect(
      (await s.run(['mcp', 'install', '--client', 'claude-code', '--agent', 'builder', '--hooks'])).code,
    ).toBe(0)
    const again = await s.run(['mcp', 'doctor', '--no-start', '--json'])
    expect(JSON.parse(again.stdout).entries.flatMap((entry: Doc) => entry.problems)).toEqual([])
  })

  it('reads the program of a hook command back, however its paths were quoted', () => {
    const base = ['/home/me/.nvm/versions/node/v24.1.0/bin/node', "/srv/it's here/bin/run.js"]
    const command = hookCommand(
      'codex',
      base,
      'builder',
      { db: '/data/a b.db', env: { AGENT_COMM_PG_SCHEMA: 'team a' } },
      'UserPromptSubmit',
    )
    expect(hookProgram(command)).toEqual(base)
  })
})

describe('agent-comm mcp doctor, hooks on PostgreSQL', () => {
  it('runs each SessionStart hook once and reports one that cannot reach its server, without the password', async () => {
    const s = sandbox()
    const password = 'doctor-pa55word'
    const down = `postgres://agent:${password}@127.0.0.1:1/coordination`
    const install = ['hooks', 'install', '--client', 'codex', '--agent', 'builder', '--db', down]
    expect((await s.run(install)).code).toBe(0)
    const doctor = await s.run(['mcp', 'doctor', '--json'])
    expect(doctor.code).toBe(1)
    expect(doctor.stdout + doctor.stderr).not.toContain(password)
    const problems = JSON.parse(doctor.stdout).entries.flatMap((entry: Doc) => entry.problems)
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^inbox hook for builder fails: agent-comm inbox --new: Could not connect to PostgreSQL at 127\.0\.0\.1:1 \(postgres:\/\/agent@127\.0\.0\.1:1\/coordination\): .*ECONNREFUSED/,
      ),
    )
    // --no-start runs nothing.
    const quick = await s.run(['mcp', 'doctor', '--no-start', '--json'])
    expect(JSON.parse(quick.stdout).entries.flatMap((entry: Doc) => entry.problems)).toHaveLength(1)
  })
})

describe('agent-comm mcp install and hooks install, agent ids', () => {
  it('refuses an agent id that register refuses, for every client and on a dry run, writing nothing', async () => {
    const s = sandbox()
    const invalid = ['a b', '', '../evil', 'x;rm -rf /', '-x', 'system:expiry']
    const runs = [
      ...['claude-code', 'claude-desktop', 'codex', 'cursor', 'vscode', 'gemini'].map((client, i) => [
        ...['mcp', 'install', '--client', client, `--agent=${invalid[i % invalid.length]}`],
        ...(i % 2 === 0 ? ['--dry-run'] : []),
      ]),
      ...invalid.map((agent) => ['hooks', 'install', '--client', 'codex', `--agent=${agent}`]),
    ]
    for (const args of runs) {
      const run = await s.run(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stdout).toBe('')
    }
    expect(readdirSync(s.cwd)).toEqual([])
    expect(readdirSync(s.home)).toEqual([])
  })
})

describe('agent-comm mcp install and doctor, secrets in configuration files', () => {
  const PASSWORD = 'S3cret-pa55word'
  const url = `postgres://agent:${PASSWORD}@127.0.0.1:1/coordination`
  const install = ['mcp', 'install', '--client', 'claude-code', '--agent', 'builder', '--db', url]

  it('keeps a PostgreSQL password out of the client configuration, in a file of the user readable by them only', async () => {
    const s = sandbox()
    writeFileSync(join(s.cwd, '.mcp.json'), '{}', { mode: 0o644 })
    chmodSync(join(s.cwd, '.mcp.json'), 0o644)
    const run = await s.run(install)
    expect(run.code, run.stderr).toBe(0)
    const config = readFileSync(join(s.cwd, '.mcp.json'), 'utf8')
    expect(config).not.toContain(PASSWORD)
    expect(statSync(join(s.cwd, '.mcp.json')).mode & 0o077).toBe(0)
    const env = JSON.parse(config).mcpServers['agent-comm'].env
    expect(Object.keys(env)).toEqual(['AGENT_COMM_DB_PATH_FILE'])
    const kept = env.AGENT_COMM_DB_PATH_FILE as string
    expect(kept.startsWith(join(s.home, '.agent-comm', 'databases'))).toBe(true)
    expect(readFileSync(kept, 'utf8')).toBe(`${url}\n`)
    expect(statSync(kept).mode & 0o077).toBe(0)
    // The folders made for it are the user's only: not even the file names are listed to others.
    for (const folder of [join(s.home, '.agent-comm'), join(s.home, '.agent-comm', 'databases')]) {
      expect(statSync(folder).mode & 0o777, folder).toBe(0o700)
    }
    // Installed again (another client, the same database): the same file.
    const again = await s.run(['mcp', 'install', '--client', 'cursor', '--db', url])
    expect(again.code, again.stderr).toBe(0)
    expect(json(join(s.cwd, '.cursor', 'mcp.json')).mcpServers['agent-comm'].env).toEqual({
      AGENT_COMM_DB_PATH_FILE: kept,
    })
  })

  it('installs inbox hooks on a PostgreSQL database that read its URL from the 0600 file, the password in no other file', async () => {
    for (const args of [
      [...install, '--hooks'],
      ['hooks', 'install', '--client', 'claude-code', '--agent', 'builder', '--db', url],
      ['hooks', 'install', '--client', 'codex', '--agent', 'builder', '--db', url],
    ]) {
      const s = sandbox()
      const run = await s.run(args)
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout + run.stderr).not.toContain(PASSWORD)
      const written = [...filesUnder(s.cwd), ...filesUnder(s.home)]
      const kept = written.filter((file) => readFileSync(file, 'utf8').includes(PASSWORD))
      expect(kept, args.join(' ')).toHaveLength(1)
      expect(kept[0]!.startsWith(join(s.home, '.agent-comm', 'databases'))).toBe(true)
      expect(readFileSync(kept[0]!, 'utf8')).toBe(`${url}\n`)
      expect(statSync(kept[0]!).mode & 0o077).toBe(0)
      const codex = args.includes('codex')
      const hooks = json(join(s.cwd, codex ? '.codex/hooks.json' : '.claude/settings.json')).hooks
      for (const event of ['SessionStart', 'UserPromptSubmit']) {
        const command: string = hooks[event][0].hooks[0].command
        expect(command.startsWith(`AGENT_COMM_DB_PATH_FILE=${kept[0]} `)).toBe(true)
        expect(command).toMatch(/ inbox builder --new --format hook-json --client (claude-code|codex) /)
        expect(command).not.toContain('--db')
      }
    }
  })

  it('names a PostgreSQL URL without a password on the hook command line, as the server entry does', async () => {
    const s = sandbox()
    const open = 'postgres://agent@127.0.0.1:1/coordination'
    const run = await s.run([
      'hooks',
      'install',
      '--client',
      'claude-code',
      '--agent',
      'builder',
      '--db',
      open,
    ])
    expect(run.code, run.stderr).toBe(0)
    const command: string = json(join(s.cwd, '.claude', 'settings.json')).hooks.SessionStart[0].hooks[0]
      .command
    expect(command).toContain(`--db ${open} `)
    expect(readdirSync(s.home)).toEqual([])
  })

  it('never prints the password: not in install --dry-run, install --json nor doctor --json', async () => {
    const s = sandbox()
    const dry = await s.run([...install, '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('postgres://agent@127.0.0.1:1/coordination')
    const written = await s.run([...install, '--json'])
    expect(written.code, written.stderr).toBe(0)
    const doctor = await s.run(['mcp', 'doctor', '--no-start', '--json'])
    expect(JSON.parse(doctor.stdout).entries[0].database).toBe('postgres://agent@127.0.0.1:1/coordination')
    for (const run of [dry, written, doctor]) expect(run.stdout + run.stderr).not.toContain(PASSWORD)
  })

  it('does not repeat a token from a config file that is not valid JSON, only where it breaks', async () => {
    const s = sandbox()
    writeFileSync(join(s.cwd, '.mcp.json'), '{"mcpServers": {"other": {"env": {"TOKEN": sk-LEAKME}}}}\n')
    const install = await s.run(['mcp', 'install', '--client', 'claude-code'])
    expect(install.code).toBe(2)
    expect(install.stderr).toMatch(
      /\.mcp\.json is not valid JSON; fix it or move it away, nothing was changed/,
    )
    writeFileSync(join(s.cwd, '.mcp.json'), '{"mcpServers": {"other": {"env": {"TOKEN": "sk-LEAKME"},}}}\n')
    const doctor = await s.run(['mcp', 'doctor', '--no-start', '--json'])
    expect(JSON.parse(doctor.stdout).entries[0].problems[0]).toMatch(
      /is not valid JSON \(near line 1, column \d+\)/,
    )
    for (const run of [install, doctor]) expect(run.stdout + run.stderr).not.toContain('LEAKME')
  })
})
