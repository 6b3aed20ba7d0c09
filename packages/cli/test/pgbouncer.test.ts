import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTestDatabase, serverTestsCanRun, type TestDatabase } from '@agent-comm/postgres/testing'
import { debianTool, freePort } from '@agent-comm/test-support'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanEnv, onCleanup, runCli, spawnCli, tempDir } from './helpers.js'

// The CLI on PostgreSQL through PgBouncer in transaction mode, the pooler most teams put in front of a
// shared server: each transaction may run on another server connection, so prepared statements made on
// one are missing (or already there) on the next. The URL's prepare=false is how a user says so.

const skipped = {
  warn: (_fields: unknown, message: string) => process.stderr.write(`pgbouncer: ${message}\n`),
}
const pgbouncer = debianTool('pgbouncer')
if (pgbouncer === undefined) skipped.warn(null, 'pgbouncer is not installed: its tests are skipped')
const canRun = pgbouncer !== undefined && (await serverTestsCanRun(skipped))

/**
 * PgBouncer in transaction mode on a loopback port, in front of `db`, with ONE server connection: every
 * client's transactions share it, as a busy pool's do in turn. It refuses to run as root, so as root it
 * drops to `nobody` (its folder readable by all).
 */
async function startPgbouncer(db: TestDatabase): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = tempDir()
  chmodSync(dir, 0o755)
  const server = new URL(db.url)
  const database = server.pathname.slice(1)
  const port = await freePort()
  const ini = join(dir, 'pgbouncer.ini')
  writeFileSync(
    ini,
    `[databases]
${database} = host=${server.hostname} port=${server.port || '5432'} dbname=${database} user=${server.username || 'postgres'}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 1
max_client_conn = 100
`,
  )
  chmodSync(ini, 0o644)
  const args = process.getuid?.() === 0 ? ['-u', 'nobody', ini] : [ini]
  const child: ChildProcess = spawn(pgbouncer as string, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    await gone
  }
  // Ready once it logs that it is up (it listens by then); its log is kept for a failure's message.
  let log = ''
  await new Promise<void>((resolve, reject) => {
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk
      if (log.includes('process up')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`pgbouncer exited with ${code}:\n${log}`)))
  })
  const url = new URL(db.url)
  url.port = String(port)
  return { url: url.toString(), stop }
}

describe.runIf(canRun)('the CLI through PgBouncer in transaction mode', () => {
  let db: TestDatabase
  let pooled: { url: string; stop: () => Promise<void> }
  beforeAll(async () => {
    db = await createTestDatabase({ name: 'cli_pgbouncer' })
    pooled = await startPgbouncer(db)
  })
  afterAll(async () => {
    await pooled?.stop()
    await db?.drop()
  })

  const cli = (args: string[], url: string) =>
    runCli(['--db', url, ...args], { cwd: tempDir(), env: cleanEnv({ AGENT_COMM_PG_SCHEMA: 'pooled' }) })

  it('names the pooler and the fix when prepared statements collide, instead of a bare SQLSTATE', async () => {
    const env = cleanEnv({ AGENT_COMM_PG_SCHEMA: 'collide' })
    // Two processes in turn prepare the same statements on the one server connection: the second's collide.
    const runs = []
    for (const agent of ['a', 'b', 'c']) {
      runs.push(
        await runCli(['--db', pooled.url, 'register', agent, '-c', 'code', '-d', 'ci', '--json'], {
          cwd: tempDir(),
          env,
        }),
      )
    }
    const failed = runs.find((run) => run.code !== 0)
    expect(failed).toBeDefined()
    expect(JSON.parse(failed!.stdout)).toMatchObject({
      error: { code: 'STORAGE', hint: expect.stringContaining('prepare=false') },
    })
  })

  it('sends, claims, acks and wakes a follower across processes with prepare=false in the URL', async () => {
    const url = `${pooled.url}?prepare=false`
    for (const agent of ['architect', 'builder'])
      expect((await cli(['register', agent, '-c', 'code', '-d', 'ci'], url)).code).toBe(0)
    const follower = spawnCli(['--db', url, 'poll', 'builder', '--follow', '--json'], {
      cwd: tempDir(),
      env: cleanEnv({ AGENT_COMM_PG_SCHEMA: 'pooled' }),
    })
    onCleanup(() => void follower.kill('SIGKILL'))
    let followed = ''
    follower.stdout?.setEncoding('utf8').on('data', (chunk: string) => (followed += chunk))
    follower.stderr?.resume()
    for (let i = 1; i <= 3; i++) {
      const sent = await cli(['send', 'architect', 'builder', `task ${i}`], url)
      expect(sent.code, sent.stderr).toBe(0)
    }
    // Wakes by NOTIFY where the pooler passes it on, else by the store's polling floor: either way, all three.
    await expect.poll(() => followed.match(/task \d/g)?.length ?? 0, { timeout: 60_000 }).toBe(3)
    const stats = await cli(['stats', '--json'], url)
    expect(stats.code, stats.stderr).toBe(0)
    expect(JSON.parse(stats.stdout)).toMatchObject({ totalMessages: 3 })
  })

  it('refuses a prepare= value other than true or false, before connecting', async () => {
    const run = await cli(['stats'], `${pooled.url}?prepare=no`)
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain('Invalid prepare=no')
  })
})
