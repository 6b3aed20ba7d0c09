import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '@agent-comm/postgres/testing'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, cleanEnv, exited, runCli, spawnCli, stopDemoAfterFirstStep, tempDir } from './helpers.js'

// The CLI opens a PostgreSQL URL with node-postgres, so these tests need a server: with none, and not in
// CI, they are skipped (PGlite has no URL a child process could open); in CI a missing server fails them.
const hasServer = process.env.CI === 'true' || (await pgServerAvailable())

describe.skipIf(!hasServer)('the CLI on a PostgreSQL URL (needs a PostgreSQL server)', () => {
  let db: TestDatabase
  /** The test database's URL with a password in it (the server trusts local users and ignores it). */
  let url: string
  const password = 'not-to-be-printed'

  beforeAll(async () => {
    db = await createTestDatabase({ name: 'cli' })
    const withPassword = new URL(db.url)
    withPassword.password = password
    url = withPassword.toString()
  })
  afterAll(async () => {
    await db?.drop()
  })

  it("runs the root README's Quick Test against AGENT_COMM_DB_PATH=postgres://…, then stats --verify", async () => {
    const cwd = tempDir()
    const script = fileURLToPath(new URL('./quick-test.sh', import.meta.url))
    const env = cleanEnv({ AGENT_COMM: BIN, AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: 'quick_test' })
    const run = spawnSync('bash', [script], { cwd, env, encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/quick test passed\n$/)

    const stats = await runCli(['stats', '--verify', '--json'], { cwd, env })
    expect(stats.stderr).toBe('')
    expect(stats.code).toBe(0)
    const report = JSON.parse(stats.stdout) as {
      verify: { ok: boolean }
      registeredAgents: Record<string, number>
      deliveries: Record<string, number>
    }
    expect(report.verify.ok).toBe(true)
    expect(report.registeredAgents).toEqual({ active: 2, inactive: 0, offline: 0 })
    expect(report.deliveries).toMatchObject({ acked: 1, queued: 0 })
  })

  it('serves MCP with agent-comm mcp --db <url> on that server, never on a file named after the URL', async () => {
    const cwd = tempDir()
    const env = Object.fromEntries(
      Object.entries(cleanEnv({ AGENT_COMM_PG_SCHEMA: 'mcp_flag' })).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      ),
    )
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--db', url],
      cwd,
      env,
    })
    const client = new Client({ name: 'cli-postgres-test', version: '1.0.0' })
    await client.connect(transport)
    try {
      const registered = await client.callTool({
        name: 'comm_register_agent',
        arguments: { agent_id: 'solo' },
      })
      expect(registered.isError).not.toBe(true)
    } finally {
      await client.close()
    }
    // The agent is in the server's schema, and no SQLite file (its path made of the URL) was created.
    const [row] = await db.client().query<{ n: number }>('SELECT count(*)::int AS n FROM mcp_flag.agents')
    expect(row!.n).toBe(1)
    expect(readdirSync(cwd)).toEqual([])
  })

  it('takes the URL from --db as it is, and never prints its password', async () => {
    const cwd = tempDir()
    const env = cleanEnv({ AGENT_COMM_PG_SCHEMA: 'db_flag', AGENT_COMM_LOG_LEVEL: 'debug' })
    const register = await runCli(['register', 'reader', '-c', 'read', '-d', 'ci', '--db', url], { cwd, env })
    expect(register.code).toBe(0)
    const sent = await runCli(['send', 'reader', 'reader', 'note to self', '--db', url], { cwd, env })
    expect(sent.code).toBe(0)
    const inbox = await runCli(['inbox', 'reader', '--db', url, '--json'], { cwd, env })
    expect(inbox.code).toBe(0)
    expect(inbox.stdout).toContain('note to self')
    for (const run of [register, sent, inbox]) {
      expect(run.stderr).toContain(`[debug] database ${db.url} (read-write)`)
      expect(run.stderr + run.stdout).not.toContain(password)
    }
  })

  it('says it could not connect, where, and why — a refused port, a missing database — never the password', async () => {
    const cwd = tempDir()
    const refused = new URL(url)
    refused.port = '1'
    const missing = new URL(url)
    missing.pathname = '/agent_comm_no_such_db'
    for (const [target, why, hint] of [
      [refused, 'connection refused', 'Check that PostgreSQL is running'],
      [missing, 'database "agent_comm_no_such_db" does not exist', 'Create the database'],
    ] as const) {
      const run = await runCli(['agents', '--db', target.toString()], { cwd, env: cleanEnv() })
      expect(run.code).not.toBe(0)
      expect(run.stderr).toContain(
        `Error: Could not connect to PostgreSQL at ${target.hostname}:${target.port}`,
      )
      expect(run.stderr).toContain(why)
      expect(run.stderr).toContain(hint)
      expect(run.stderr).not.toContain('query failed')
      expect(run.stderr + run.stdout).not.toContain(password)
    }
  })

  it('poll --wait in one process returns the message another process sends while it waits', async () => {
    const cwd = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: 'poll_wait' })
    for (const agent of ['sender', 'waiter']) {
      const registered = await runCli(['register', agent, '-c', 'chat', '-d', 'ci'], { cwd, env })
      expect(registered.code).toBe(0)
    }
    const poll = spawnCli(['poll', 'waiter', '--wait', '300'], { cwd, env })
    let stdout = ''
    let stderr = ''
    poll.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    // The empty inbox was polled once and the command now waits: only then does the other process send.
    const waiting = new Promise<void>((resolve) => {
      poll.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
        if (stderr.includes('Waiting up to 300s for messages for waiter')) resolve()
      })
    })
    await Promise.race([
      waiting,
      exited(poll).then((code) => {
        throw new Error(`poll exited with ${code} before waiting\n${stdout}\n${stderr}`)
      }),
    ])
    expect(stdout).toBe('')
    const sent = await runCli(['send', 'sender', 'waiter', 'sent from elsewhere'], { cwd, env })
    expect(sent.stderr).toBe('')
    expect(sent.code).toBe(0)
    expect(await exited(poll)).toBe(0)
    expect(stdout).toContain('sent from elsewhere')
  })

  it('works as a role that may use the tables but not create anything, once the schema is migrated', async () => {
    const cwd = tempDir()
    const schema = 'app_role'
    const owner = cleanEnv({ AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: schema })
    const registered = await runCli(['register', 'worker', '-c', 'work', '-d', 'ci'], { cwd, env: owner })
    expect(registered.code).toBe(0)
    // A role of the application's own, as an administrator would make it: no CREATE on the database or
    // the schema, only the rights on its tables. Roles are cluster-wide, hence the unique name.
    const role = `agent_comm_cli_app_${process.pid}_${Date.now().toString(36)}`
    const admin = db.client()
    await admin.query(`CREATE ROLE ${role} LOGIN`)
    try {
      await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`)
      await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role}`)
      await admin.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`)
      const asRole = new URL(db.url)
      asRole.username = role
      const env = cleanEnv({ AGENT_COMM_DB_PATH: asRole.toString(), AGENT_COMM_PG_SCHEMA: schema })
      const sent = await runCli(['send', 'worker', 'worker', 'sent by the app role'], { cwd, env })
      expect(sent.stderr).toBe('')
      expect(sent.code).toBe(0)
      const polled = await runCli(['poll', 'worker'], { cwd, env })
      expect(polled.code).toBe(0)
      expect(polled.stdout).toContain('sent by the app role')

      // Rights only to read are enough to read (the sweep of run-out leases is left to writers); a write is
      // refused with the server's own refusal, never as a SQLite file that is read-only for this user.
      await admin.query(`REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} FROM ${role}`)
      const stats = await runCli(['stats', '--json'], { cwd, env })
      expect(stats.stderr).toBe('')
      expect(stats.code).toBe(0)
      expect(JSON.parse(stats.stdout)).toMatchObject({ deliveries: { acked: 0 } })
      const refused = await runCli(['send', 'worker', 'worker', 'not allowed'], { cwd, env })
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toContain('permission denied for table')
      expect(refused.stderr).not.toContain('read-only for this user')
    } finally {
      await admin.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role}`)
      await admin.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${role}`)
      await admin.query(`REVOKE ALL ON SCHEMA ${schema} FROM ${role}`)
      await admin.query(`DROP ROLE ${role}`)
    }
  })

  it('refuses a schema without a database (a mistyped AGENT_COMM_PG_SCHEMA) for read commands, creating nothing', async () => {
    const cwd = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: 'typo_schema' })
    for (const args of [['stats'], ['agents']]) {
      const run = await runCli(args, { cwd, env })
      expect(run.code, args.join(' ')).toBe(1)
      expect(run.stderr).toContain('No agent-comm database in schema "typo_schema" at postgres://')
      expect(run.stderr).toContain('AGENT_COMM_PG_SCHEMA')
      expect(run.stderr).not.toContain(password)
    }
    const [row] = await db
      .client()
      .query<{ n: number }>("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'typo_schema'")
    expect(row!.n).toBe(0)
    // --create (or register) creates it.
    expect((await runCli(['stats', '--create'], { cwd, env })).code).toBe(0)
  })

  it('keeps poll --follow running through a connection lost during its claim, and delivers after it', async () => {
    const cwd = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: 'follow_lost' })
    for (const name of ['p', 'q']) {
      expect((await runCli(['register', name, '-c', 'x', '-d', 'l'], { cwd, env })).code).toBe(0)
    }
    const admin = db.client()
    const locker = db.client()
    // Another session holds the deliveries table, so the follower's first claim waits on it: its
    // connection is then the one to cut, during the claim (as a failover or a network blip would).
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => (release = resolve))
    let locked: () => void = () => {}
    const isLocked = new Promise<void>((resolve) => (locked = resolve))
    const lock = locker.transaction(async (tx) => {
      await tx.query('LOCK TABLE follow_lost.deliveries IN ACCESS EXCLUSIVE MODE')
      locked()
      await released
    })
    await isLocked
    const follow = spawnCli(['poll', 'q', '--follow', '--json'], { cwd, env })
    let stdout = ''
    let stderr = ''
    follow.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    follow.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    let terminated = 0
    while (terminated === 0) {
      const [row] = await admin.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
      )
      terminated = row!.n
      if (follow.exitCode !== null) throw new Error(`the follower exited early: ${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    release()
    await lock
    const sent = await runCli(['send', 'p', 'q', 'after the loss', '-q'], { cwd, env })
    expect(sent.code).toBe(0)
    while (!stdout.includes('after the loss') && follow.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(follow.exitCode).toBeNull()
    expect(stdout).toContain(sent.stdout.trim())
    expect(stderr).toMatch(/the database (or relay )?is unavailable for now/)
    follow.kill('SIGTERM')
    expect(await exited(follow)).toBe(0)
  })

  it('refuses --allow-foreign-tables with a PostgreSQL URL, naming the flag', async () => {
    const run = await runCli(['stats', '--db', url, '--allow-foreign-tables'], {
      cwd: tempDir(),
      env: cleanEnv(),
    })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--allow-foreign-tables applies to a SQLite file, not to a PostgreSQL URL')
    expect(run.stderr).not.toContain(password)
  })

  it('runs demo in a temporary schema of the database of AGENT_COMM_DB_PATH, and drops it', async () => {
    const cwd = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: url, AGENT_COMM_LOG_LEVEL: 'debug' })
    const run = await runCli(['demo', '--json'], { cwd, env })
    expect(run.code).toBe(0)
    // It ran on the server (the debug line names the database), not in a temporary file.
    expect(run.stderr).toContain(`[debug] database ${db.url} (read-write)`)
    expect(run.stderr).not.toContain(password)
    const result = JSON.parse(run.stdout) as { conversation: unknown[] }
    expect(result.conversation).toHaveLength(2)
    const client = db.client()
    const schemas = await client.query<{ name: string }>(
      "SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'agent_comm_demo_%'",
    )
    expect(schemas).toEqual([])
  })

  it('drops the temporary schema of a demo stopped with SIGINT, then exits 130', async () => {
    const tmp = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: url, TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' })
    const run = await stopDemoAfterFirstStep('SIGINT', { cwd: tempDir(), env })
    expect(run.code).toBe(run.finished ? 0 : 130)
    const schemas = await db
      .client()
      .query<{ name: string }>(
        "SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'agent_comm_demo_%'",
      )
    expect(schemas).toEqual([])
    expect(readdirSync(tmp)).toEqual([])
  }, 60_000)
})
