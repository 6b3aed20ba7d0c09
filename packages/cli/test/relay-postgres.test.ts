import { randomBytes } from 'node:crypto'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '@agent-comm/postgres/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanEnv, exited, firstLine, runCli, spawnCli, tempDir } from './helpers.js'

// Child processes open the URL with node-postgres: these tests need a server (CI always has one).
const hasServer = process.env.CI === 'true' || (await pgServerAvailable())

describe.skipIf(!hasServer)('the relay commands on PostgreSQL (--db)', () => {
  let db: TestDatabase
  const key = randomBytes(32).toString('base64')
  beforeAll(async () => {
    db = await createTestDatabase({ name: 'cli_relay' })
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('refuses without the secrets key, saying what to set', async () => {
    const run = await runCli(['relay', 'list-secrets', '--db', db.url, '--db-schema', 'relay_nokey'], {
      cwd: tempDir(),
      env: cleanEnv(),
    })
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain('AGENT_COMM_RELAY_SECRETS_KEY')
    expect(run.stderr).toContain('--secrets-key-file')
  })

  it('generates, lists, rotates the key of and revokes secrets sealed in the database', async () => {
    const cwd = tempDir()
    const env = cleanEnv({ AGENT_COMM_RELAY_SECRETS_KEY: key, AGENT_COMM_RELAY_PG_SCHEMA: 'relay_cli' })
    const gen = await runCli(['relay', 'gen-secret', 'agent-b', '--db', db.url], { cwd, env })
    expect(gen.stderr).toContain('shown only this once')
    expect(gen.code).toBe(0)
    const secret = /^export AGENT_COMM_SECRET_AGENT_B=(acs_\S+)\n$/.exec(gen.stdout)?.[1]
    expect(secret).toBeDefined()
    const rows = await db.client().query<{ sealed: string }>('SELECT sealed FROM relay_cli.relay_secrets')
    expect(JSON.stringify(rows)).not.toContain(secret!.slice(4))

    const rotated = await runCli(['relay', 'rotate-secrets-key', '--db', db.url, '--json'], { cwd, env })
    expect(rotated.code).toBe(0)
    const { newKey, reencrypted } = JSON.parse(rotated.stdout) as { newKey: string; reencrypted: number }
    expect(reencrypted).toBe(1)
    const stale = await runCli(['relay', 'list-secrets', '--db', db.url], { cwd, env })
    expect(stale.code).not.toBe(0)
    expect(stale.stderr).toContain('is not the one')
    const renewed = { ...env, AGENT_COMM_RELAY_SECRETS_KEY: newKey }
    const list = await runCli(['relay', 'list-secrets', '--db', db.url, '--json'], { cwd, env: renewed })
    expect(JSON.parse(list.stdout)).toMatchObject({
      count: 1,
      secrets: [{ agentId: 'agent-b', activeSecrets: 1 }],
    })
    const revoke = await runCli(['relay', 'revoke-secret', 'agent-b', '--db', db.url], { cwd, env: renewed })
    expect(revoke.code).toBe(0)
    const again = await runCli(['relay', 'revoke-secret', 'agent-b', '--db', db.url], { cwd, env: renewed })
    expect(again.code).toBe(3)
  })

  it('tells the operator to issue secrets into the database, without printing its password', async () => {
    const url = new URL(db.url)
    url.password = 'not-needed-under-trust-auth'
    const child = spawnCli(
      ['relay', 'start', '--port', '0', '--db', url.toString(), '--log-level', 'silent'],
      {
        cwd: tempDir(),
        env: cleanEnv({ AGENT_COMM_RELAY_SECRETS_KEY: key, AGENT_COMM_RELAY_PG_SCHEMA: 'relay_hint' }),
      },
    )
    let stderr = ''
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8')
        if (stderr.includes('Give each agent a secret')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`exited with ${code}\n${stderr}`)))
    })
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
    expect(stderr).toContain('gen-secret <agent> --db <this database URL>')
    expect(stderr).not.toContain('--data-dir')
    expect(stderr).not.toContain('not-needed-under-trust-auth')
  })

  it('refuses to start a replica whose database it cannot connect to, saying where and why', async () => {
    const refused = new URL(db.url)
    refused.port = '1'
    refused.password = 'replica-pw'
    const run = await runCli(['relay', 'start', '--port', '0', '--db', refused.toString()], {
      cwd: tempDir(),
      env: cleanEnv({ AGENT_COMM_RELAY_SECRETS_KEY: key }),
    })
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain(`Error: Could not connect to PostgreSQL at ${refused.hostname}:1`)
    expect(run.stderr).toContain('connection refused')
    expect(run.stderr).toContain('Check that PostgreSQL is running')
    expect(run.stderr + run.stdout).not.toContain('replica-pw')
  })

  it('runs relay start --db as a replica that is ready once listening, and stops on SIGTERM', async () => {
    const child = spawnCli(
      ['relay', 'start', '--port', '0', '--json', '--db', db.url, '--log-level', 'silent'],
      {
        cwd: tempDir(),
        env: cleanEnv({ AGENT_COMM_RELAY_SECRETS_KEY: key, AGENT_COMM_RELAY_PG_SCHEMA: 'relay_start' }),
      },
    )
    const { url } = JSON.parse(await firstLine(child)) as { url: string }
    const ready = await fetch(`${url}/api/v1/health/ready`)
    expect(ready.status).toBe(200)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
  })
})
