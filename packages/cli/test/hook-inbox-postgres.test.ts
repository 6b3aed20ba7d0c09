import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '@agent-comm/postgres/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanEnv, filesUnder, runCli, tempDir } from './helpers.js'

// The hook opens a PostgreSQL URL with node-postgres, so these tests need a server: with none, and not in
// CI, they are skipped (PGlite has no URL a child process could open); in CI a missing server fails them.
const hasServer = process.env.CI === 'true' || (await pgServerAvailable())

const PASSWORD = 'hook-pa55word-not-to-be-printed'
const HOOK = ['--new', '--since-cursor', '--client', 'claude-code', '--format', 'hook-json']

/** The context a hook-json output adds, or '' for no output. */
function context(stdout: string): string {
  return stdout === '' ? '' : (JSON.parse(stdout).hookSpecificOutput.additionalContext as string)
}

/** A port nothing listens on: a server that is down. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe.skipIf(!hasServer)('inbox --new on a PostgreSQL database (needs a PostgreSQL server)', () => {
  let db: TestDatabase
  /** The test database's URL with a password in it (the server trusts local users and ignores it). */
  let url: string

  beforeAll(async () => {
    db = await createTestDatabase({ name: 'cli_hooks' })
    const withPassword = new URL(db.url)
    withPassword.password = PASSWORD
    url = withPassword.toString()
  })
  afterAll(async () => {
    await db?.drop()
  })

  /** A project folder, a home folder and a schema of the test's own, with `builder` and `architect`. */
  async function setup() {
    const cwd = tempDir()
    const home = tempDir()
    const schema = `hooks_${randomBytes(4).toString('hex')}`
    const env = cleanEnv({ HOME: home, AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: schema })
    const run = (args: string[]) => runCli(args, { cwd, env })
    const ok = async (args: string[]) => {
      const result = await run(args)
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0)
      return result
    }
    for (const agent of ['architect', 'builder']) await ok(['register', agent, '-c', 'code', '-d', 'local'])
    return { cwd, home, schema, env, run, ok }
  }

  it('shows new mail once with --since-cursor, then only what came after, and everything without it', async () => {
    const s = await setup()
    await s.ok(['send', 'architect', 'builder', 'body one', '-s', 'first task', '--priority', 'high'])
    const first = await s.ok(['inbox', 'builder', ...HOOK])
    expect(context(first.stdout)).toMatch(
      /^agent-comm: 1 new message for builder: high from architect: "first task"/,
    )
    expect((await s.ok(['inbox', 'builder', ...HOOK])).stdout).toBe('')
    await s.ok(['send', 'architect', 'builder', 'body two', '-s', 'second task'])
    const second = context((await s.ok(['inbox', 'builder', ...HOOK])).stdout)
    expect(second).toMatch(/1 new message for builder: normal from architect: "second task"/)
    expect(second).not.toContain('first task')
    // SessionStart's form (no cursor): all that waits; another client has a cursor of its own.
    expect((await s.ok(['inbox', 'builder', '--new'])).stdout).toMatch(/2 new messages/)
    expect((await s.ok(['inbox', 'builder', '--new', '--since-cursor', '--client', 'codex'])).stdout).toMatch(
      /2 new messages/,
    )
    // The cursor is the user's, named after the server without its password.
    const cursors = filesUnder(join(s.home, '.agent-comm', 'hooks'))
    expect(cursors.map((file) => file.split('/').at(-1)).sort()).toEqual([
      'claude-code--builder.cursor',
      'codex--builder.cursor',
    ])
    // Claimed mail is not new.
    await s.ok(['poll', 'builder', '--limit', '10'])
    expect((await s.ok(['inbox', 'builder', '--new'])).stdout).toBe('')
  })

  it('announces a delayed message once it is due, not before, and then not again', async () => {
    const s = await setup()
    await s.ok(['send', 'architect', 'builder', 'now', '-s', 'at once'])
    const delayed = JSON.parse(
      (await s.ok(['send', 'architect', 'builder', 'later', '-s', 'in an hour', '--delay', '3600', '--json']))
        .stdout,
    ) as { messageId: string }
    expect(context((await s.ok(['inbox', 'builder', ...HOOK])).stdout)).toMatch(/1 new message.*"at once"/)
    expect((await s.ok(['inbox', 'builder', ...HOOK])).stdout).toBe('')
    // The hour passes: the delayed delivery becomes due (its seq is below the cursor now).
    const client = db.client()
    await client.query(
      `UPDATE "${s.schema}".deliveries d SET available_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1
         FROM "${s.schema}".messages m WHERE m.seq = d.message_seq AND m.id = $1`,
      [delayed.messageId],
    )
    const due = context((await s.ok(['inbox', 'builder', ...HOOK])).stdout)
    expect(due).toMatch(/1 new message for builder: normal from architect: "in an hour"/)
    expect((await s.ok(['inbox', 'builder', ...HOOK])).stdout).toBe('')
  })

  it('announces a message whose send committed after a later send was shown (its seq below the cursor)', async () => {
    const s = await setup()
    // A send that drew its seq and then stayed open: its message and delivery written as the store writes
    // them, by the server's clock, in a transaction that commits when the test says so.
    let written!: () => void
    let commit!: () => void
    const wrote = new Promise<void>((resolve) => {
      written = resolve
    })
    const committing = new Promise<void>((resolve) => {
      commit = resolve
    })
    const held = db.client().transaction(async (tx) => {
      await tx.query(
        `WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now),
         msg AS (
           INSERT INTO "${s.schema}".messages
             (id, from_agent, to_agent, subject, body, priority, conversation_id, reply_to, ttl_hours, payload,
              metadata, created_at, expires_at)
           SELECT 'msg_late_commit', 'architect', 'builder', 'sent first, committed late', 'x', 2,
             'msg_late_commit', NULL, 24, NULL, NULL, now, now + 86400000 FROM clock
           RETURNING seq, created_at, expires_at)
         INSERT INTO "${s.schema}".deliveries
           (message_seq, recipient, status, priority, attempt, max_attempts, available_at, expires_at,
            created_at, updated_at)
         SELECT seq, 'builder', 'queued', 2, 0, 3, created_at, expires_at, created_at, created_at FROM msg`,
      )
      written()
      await committing
    })
    try {
      await wrote
      await s.ok(['send', 'architect', 'builder', 'body', '-s', 'sent second, committed first'])
      const first = context((await s.ok(['inbox', 'builder', ...HOOK])).stdout)
      expect(first).toMatch(
        /1 new message for builder: normal from architect: "sent second, committed first"/,
      )
    } finally {
      commit()
      await held
    }
    const late = context((await s.ok(['inbox', 'builder', ...HOOK])).stdout)
    expect(late).toMatch(/1 new message for builder: normal from architect: "sent first, committed late"/)
    expect((await s.ok(['inbox', 'builder', ...HOOK])).stdout).toBe('')
  })

  it('says in one line that the server does not answer, naming it without its password, and exits 1', async () => {
    const s = await setup()
    const down = `postgres://agent:${PASSWORD}@127.0.0.1:${await closedPort()}/nothing`
    for (const args of [
      ['inbox', 'builder', ...HOOK, '--db', down],
      ['--db', down, 'inbox', 'builder', '--new'],
    ]) {
      const run = await s.run(args)
      expect(run.code, args.join(' ')).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toMatch(
        /^Error: agent-comm inbox --new: .*postgres:\/\/agent@127\.0\.0\.1:\d+\/nothing/,
      )
      expect(run.stderr).toMatch(/waits at most 3 s for it, so the assistant is not held up/)
      expect(run.stderr).not.toMatch(/\n\s+at /)
      expect(run.stderr).not.toContain(PASSWORD)
    }
    const json = await s.run(['inbox', 'builder', '--new', '--json', '--db', down])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'STORAGE' })
    expect(json.stdout + json.stderr).not.toContain(PASSWORD)
  })

  it('refuses a schema that holds no agent-comm database, as other commands do', async () => {
    const s = await setup()
    const run = await runCli(['inbox', 'builder', '--new'], {
      cwd: s.cwd,
      env: { ...s.env, AGENT_COMM_PG_SCHEMA: 'no_such_schema' },
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('No agent-comm database in schema "no_such_schema"')
    expect(run.stderr).toContain('AGENT_COMM_PG_SCHEMA')
    expect(run.stderr).not.toContain(PASSWORD)
  })

  it('installs hooks whose command, run as the assistant runs it, reads the URL from the 0600 file and prints the mail', async () => {
    const s = await setup()
    const install = await s.run([
      'mcp',
      'install',
      ...['--client', 'claude-code', '--agent', 'builder', '--hooks'],
    ])
    expect(install.code, install.stderr).toBe(0)
    expect(install.stdout + install.stderr).not.toContain(PASSWORD)
    const written = [...filesUnder(s.cwd), ...filesUnder(s.home)]
    expect(written.filter((file) => readFileSync(file, 'utf8').includes(PASSWORD))).toEqual([
      expect.stringMatching(/\.agent-comm\/databases\/[0-9a-f]{16}\.url$/),
    ])
    await s.ok(['send', 'architect', 'builder', 'body', '-s', 'pushed into the context'])
    const hooks = JSON.parse(readFileSync(join(s.cwd, '.claude', 'settings.json'), 'utf8')).hooks
    // The assistant's environment: neither the URL nor a database variable, only what the hook names.
    const assistantEnv = cleanEnv({ HOME: s.home })
    for (const event of ['SessionStart', 'UserPromptSubmit']) {
      const command: string = hooks[event][0].hooks[0].command
      expect(command).not.toContain(PASSWORD)
      const output = await runShell(command, s.cwd, assistantEnv, JSON.stringify({ hook_event_name: event }))
      expect(output.code, output.stderr).toBe(0)
      const shown = JSON.parse(output.stdout).hookSpecificOutput
      expect(shown.hookEventName).toBe(event)
      expect(shown.additionalContext).toMatch(
        /1 new message for builder: normal from architect: "pushed into/,
      )
    }
    // Shown once per prompt: the UserPromptSubmit hook's cursor moved.
    const again = await runShell(hooks.UserPromptSubmit[0].hooks[0].command, s.cwd, assistantEnv, '{}')
    expect(again).toMatchObject({ code: 0, stdout: '' })

    const doctor = await runCli(['mcp', 'doctor', '--json'], { cwd: s.cwd, env: assistantEnv })
    expect(doctor.stdout + doctor.stderr).not.toContain(PASSWORD)
    expect(JSON.parse(doctor.stdout).entries).toEqual([
      expect.objectContaining({ client: 'claude-code', agent: 'builder', problems: [] }),
    ])
  })
})

/** Runs `command` with a POSIX shell, as Claude Code and Codex run a hook: the event's JSON on stdin. */
function runShell(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input)
  })
}
