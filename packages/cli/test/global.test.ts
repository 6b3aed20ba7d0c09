import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Config } from '@oclif/core'
import { describe, expect, it } from 'vitest'
import { cleanEnv, createDatabase, project, runCli, tempDir } from './helpers.js'

const COMMANDS = [
  'ack',
  'agents',
  'bridge',
  'cleanup',
  'console',
  'conversation',
  'conversations',
  'demo',
  'deregister',
  'extend',
  'failed',
  'heartbeat',
  'inbox',
  'mcp',
  'nack',
  'poll',
  'register',
  'retry',
  'search',
  'send',
  'stats',
  'status',
]

/** Every command a user can run (the manifest's, hidden ones left out), as typed: `relay gen-secret`. */
const EVERY_COMMAND = Object.entries(
  JSON.parse(readFileSync(new URL('../oclif.manifest.json', import.meta.url), 'utf8')).commands as Record<
    string,
    { hidden?: boolean }
  >,
)
  .filter(([, command]) => command.hidden !== true)
  .map(([id]) => id.replaceAll(':', ' '))

/** The commands of the `db` topic, listed by `agent-comm db --help`. */
const DB_COMMANDS = ['db copy']

/** The commands of the `relay` topic, listed by `agent-comm relay --help`. */
const RELAY_COMMANDS = [
  'relay a2a-token',
  'relay gen-secret',
  'relay list-secrets',
  'relay revoke-secret',
  'relay start',
]

describe('the database location', () => {
  it('takes --db over AGENT_COMM_DB_PATH, relative to the current folder', async () => {
    const dir = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: join(dir, 'from-env.db') })
    const run = await runCli(['register', 'a', '-c', 'x', '-d', 'l', '--db', 'sub/from-flag.db'], {
      cwd: dir,
      env,
    })
    expect(run.code).toBe(0)
    expect(existsSync(join(dir, 'sub/from-flag.db'))).toBe(true)
    expect(existsSync(join(dir, 'from-env.db'))).toBe(false)
  })

  it('uses AGENT_COMM_DB_PATH when there is no --db', async () => {
    const dir = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: join(dir, 'from-env.db') })
    expect((await runCli(['agents', '--create'], { cwd: dir, env })).code).toBe(0)
    expect(existsSync(join(dir, 'from-env.db'))).toBe(true)
  })

  it('defaults to data/coordination.db under AGENT_COMM_PROJECT_ROOT, or the current folder', async () => {
    const cwd = tempDir()
    const root = tempDir()
    expect(
      (await runCli(['agents', '--create'], { cwd, env: cleanEnv({ AGENT_COMM_PROJECT_ROOT: root }) })).code,
    ).toBe(0)
    expect(existsSync(join(root, 'data/coordination.db'))).toBe(true)
    expect(existsSync(join(cwd, 'data'))).toBe(false)
    expect((await runCli(['agents', '--create'], { cwd, env: cleanEnv() })).code).toBe(0)
    expect(existsSync(join(cwd, 'data/coordination.db'))).toBe(true)
  })

  it("is explained in every command's --help", async () => {
    const run = await runCli(['send', '--help'], { env: cleanEnv() })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(
      /--db=<path\|url>\s+SQLite database file, or PostgreSQL URL such as\s+postgres:\/\/user:password@host:5432\/agents[^.]*\.\s+Precedence: this flag,\s+then\s+AGENT_COMM_DB_PATH/,
    )
  })
})

describe('errors', () => {
  it('exits 2 for an unknown flag, with one line and a pointer to --help', async () => {
    const p = project()
    const run = await p.run(['agents', '--colour'])
    expect(run.code).toBe(2)
    expect(run.stderr).toBe('Error: Nonexistent flag: --colour\nSee the usage: agent-comm agents --help\n')
    const json = await p.run(['agents', '--colour', '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'VALIDATION',
        message: 'Nonexistent flag: --colour',
        hint: 'See the usage: agent-comm agents --help',
      },
    })
  })

  it("names a relay command as typed in the usage hint; a relay command's --db takes only a postgres URL", async () => {
    const run = await runCli(['relay', 'start', '--colour'], { cwd: tempDir(), env: cleanEnv() })
    expect(run.code).toBe(2)
    expect(run.stderr).toBe(
      'Error: Nonexistent flag: --colour\nSee the usage: agent-comm relay start --help\n',
    )
    const db = await runCli(['relay', 'list-secrets', '--db', 'x.db'], { cwd: tempDir(), env: cleanEnv() })
    expect(db.code).toBe(2)
    expect(db.stderr).toMatch(/^Error: --db must be a postgres:\/\/ or postgresql:\/\/ URL/)
  })

  it('exits 2 for a missing argument', async () => {
    const p = project()
    const run = await p.run(['ack', 'msg_1'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^Error: Missing 1 required arg:\nagent/)
  })

  it('exits 2 for an invalid environment variable, naming it', async () => {
    const dir = tempDir()
    const run = await runCli(['agents'], { cwd: dir, env: cleanEnv({ AGENT_COMM_LEASE_SECONDS: 'soon' }) })
    expect(run.code).toBe(2)
    expect(run.stderr).toBe(
      "Error: AGENT_COMM_LEASE_SECONDS must be a positive number of seconds (got 'soon')\nFix or unset AGENT_COMM_LEASE_SECONDS — default lease in seconds (default: 60).\n",
    )
  })

  it('exits 1 with what to check when the database file is not a database', async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'notes.db'),
      'this is not sqlite, just a text file that is long enough to have a header'.repeat(20),
    )
    const run = await runCli(['agents', '--db', 'notes.db'], { cwd: dir, env: cleanEnv() })
    expect(run.code).toBe(1)
    const [message, hint, rest] = run.stderr.split('\n')
    expect(message).toMatch(/^Error: The file .*notes\.db is not a usable agent-comm database/)
    expect(hint).toMatch(/^Check the path/)
    expect(rest).toBe('')
    const json = await runCli(['agents', '--db', 'notes.db', '--json'], { cwd: dir, env: cleanEnv() })
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout).error.code).toBe('STORAGE')
  })

  it('exits 1 when the database path is a folder', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'folder.db'))
    const run = await runCli(['agents', '--db', 'folder.db'], { cwd: dir, env: cleanEnv() })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^Error: .*folder\.db/)
    expect(run.stderr.split('\n')[1]).not.toBe('')
  })

  it('never prints a stack trace for a user error, unless AGENT_COMM_LOG_LEVEL=debug', async () => {
    const p = project()
    await createDatabase(p)
    const plain = await p.run(['status', 'msg_nope'])
    expect(plain.stderr).not.toMatch(/\n\s+at /)
    const debug = await runCli(['status', 'msg_nope'], {
      cwd: p.dir,
      env: { ...p.env, AGENT_COMM_LOG_LEVEL: 'DEBUG' },
    })
    expect(debug.code).toBe(3)
    // After the debug line saying which database and transports the command uses.
    expect(debug.stderr).toMatch(/^\[debug\] database .*\nError: Message 'msg_nope' not found\n/)
    expect(debug.stderr).toMatch(/MessageNotFoundError: Message 'msg_nope' not found\n\s+at /)
  })
})

describe('help', () => {
  it('lists every command', async () => {
    const run = await runCli(['--help'], { env: cleanEnv() })
    expect(run.code).toBe(0)
    for (const command of [...COMMANDS, 'relay', 'db']) {
      expect(run.stdout).toMatch(new RegExp(`\\n {2}${command} +\\S`))
    }
    const db = await runCli(['db', '--help'], { env: cleanEnv() })
    expect(db.code).toBe(0)
    for (const command of DB_COMMANDS) expect(db.stdout).toMatch(new RegExp(`\\n {2}${command} +\\S`))
    const relay = await runCli(['relay', '--help'], { env: cleanEnv() })
    expect(relay.code).toBe(0)
    for (const command of RELAY_COMMANDS) expect(relay.stdout).toMatch(new RegExp(`\\n {2}${command} +\\S`))
  })

  it.each(EVERY_COMMAND)('documents %s with a description, examples and --json', async (command) => {
    const run = await runCli([...command.split(' '), '--help'], { env: cleanEnv() })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^\S.*\n/)
    expect(run.stdout).toContain('EXAMPLES')
    expect(run.stdout).toContain(`$ agent-comm ${command}`)
    expect(run.stdout).toContain('--json')
  })

  it("names in the README each command without --json (the plugins' help and autocomplete)", async () => {
    const config = await Config.load(fileURLToPath(new URL('..', import.meta.url)))
    const withoutJson = config.commands.filter((c) => !c.hidden && !('json' in c.flags)).map((c) => c.id)
    expect(withoutJson.length).toBeGreaterThan(0)
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const exceptions = /([^.]*)\s+have no `--json`/.exec(readme)?.[1] ?? ''
    const everyCommandBut = /`--json` on every command but ([^,]*),/.exec(readme)?.[1] ?? ''
    for (const id of withoutJson) {
      expect(exceptions).toContain(`\`${id}\``)
      expect(everyCommandBut).toContain(`\`${id}\``)
    }
  })

  it('prints the version', async () => {
    const run = await runCli(['--version'], { env: cleanEnv() })
    expect(run.stdout).toMatch(/^@agent-comm\/cli\/\d+\.\d+\.\d+ /)
  })
})
