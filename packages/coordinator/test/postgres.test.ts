import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { createTestDatabase, pgServerAvailable, type TestDatabase } from '@agent-comm/postgres/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCoordinator, loadConfig } from '../src/index.js'

// A coordinator on a PostgreSQL URL needs a server (the URL goes to node-postgres): with none, and not in
// CI, these tests are skipped (PGlite has no URL to open); in CI a missing server fails them.
const hasServer = process.env.CI === 'true' || (await pgServerAvailable())

/** The URL of this package's built entry, for a child process to import. */
function builtCoordinator(): string {
  return pathToFileURL(join(fileURLToPath(new URL('..', import.meta.url)), 'dist/index.js')).href
}

describe.skipIf(!hasServer)('a coordinator on a PostgreSQL URL (needs a PostgreSQL server)', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase({ name: 'coordinator' })
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('registers, sends, polls, replies and acks through the PostgreSQL stores', async () => {
    const config = loadConfig({ AGENT_COMM_DB_PATH: db.url, AGENT_COMM_PG_SCHEMA: 'walkthrough' })
    const coord = await createCoordinator(config)
    try {
      expect(coord.storage.spool).toBe('postgres')
      expect(coord.storage.registry).toBe('postgres')
      await coord.register({ agentId: 'architect', capabilities: ['design'] })
      await coord.register({ agentId: 'builder', capabilities: ['code'] })
      const { messageId } = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'build it' })
      const [got] = await coord.poll('builder')
      expect(got?.message.id).toBe(messageId)
      await coord.reply(got!, { body: 'done' })
      await coord.ack(got!)
      const [answer] = await coord.poll('architect')
      expect(answer?.message.body).toBe('done')
      const stats = await coord.stats()
      expect(stats.registeredAgents).toEqual({ active: 2, inactive: 0, offline: 0 })
      expect(stats.deliveries).toMatchObject({ acked: 1, leased: 1 })
      expect((await coord.verify()).ok).toBe(true)
    } finally {
      await coord.close()
    }
  })

  it('hands a held capability message to an agent that registers on another coordinator', async () => {
    const config = loadConfig({ AGENT_COMM_DB_PATH: db.url, AGENT_COMM_PG_SCHEMA: 'held' })
    const first = await createCoordinator(config)
    const second = await createCoordinator(config)
    try {
      await first.register({ agentId: 'boss' })
      await first.send(
        { fromAgent: 'boss', toAgent: 'capability:review', body: 'review please' },
        { holdForFutureRecipients: true },
      )
      await second.register({ agentId: 'reviewer', capabilities: ['review'] })
      const [got] = await first.poll('reviewer')
      expect(got?.message.body).toBe('review please')
    } finally {
      await first.close()
      await second.close()
    }
  })
  it('yields to a for await loop a message another process sends to the same database', async () => {
    const env = { AGENT_COMM_DB_PATH: db.url, AGENT_COMM_PG_SCHEMA: 'iterator' }
    const consumer = await createCoordinator(loadConfig(env))
    const controller = new AbortController()
    try {
      await consumer.register({ agentId: 'sender' })
      await consumer.register({ agentId: 'listener' })
      const iterator = consumer.messages('listener', { signal: controller.signal })
      // The loop starts on an empty inbox; the message comes from another process, on its own pool.
      const first = iterator.next()
      const script = `
        const { createCoordinator, loadConfig } = await import(${JSON.stringify(builtCoordinator())})
        const coord = await createCoordinator(loadConfig(${JSON.stringify(env)}))
        await coord.send({ fromAgent: 'sender', toAgent: 'listener', body: 'from another process' })
        await coord.close()`
      await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        env: { PATH: process.env.PATH ?? '' },
      })
      const { value, done } = await first
      expect(done).toBe(false)
      expect(value?.message.body).toBe('from another process')
      await consumer.ack(value!)
      controller.abort()
      expect((await iterator.next()).done).toBe(true)
    } finally {
      controller.abort()
      await consumer.close()
    }
  })
})

describe('the database setting', () => {
  it('keeps a postgres:// or postgresql:// URL as it is instead of resolving it as a path', () => {
    const url = 'postgresql://agents:pw@db.example:5432/agents'
    expect(loadConfig({ AGENT_COMM_DB_PATH: url }, { cwd: '/srv/x' }).dbPath).toBe(url)
    expect(loadConfig({}, { cwd: '/srv/x', overrides: { dbPath: 'postgres://h/db' } }).dbPath).toBe(
      'postgres://h/db',
    )
    expect(loadConfig({ AGENT_COMM_DB_PATH: 'postgres.db' }, { cwd: '/srv/x' }).dbPath).toBe(
      '/srv/x/postgres.db',
    )
  })

  it('refuses the SQLite-only options readonly and allowForeignTables with a URL, before connecting', async () => {
    // Nothing listens on port 1: the refusal comes before any connection is tried.
    const config = loadConfig({ AGENT_COMM_DB_PATH: 'postgres://agents@127.0.0.1:1/agents' })
    await expect(createCoordinator(config, { database: { readonly: true } })).rejects.toMatchObject({
      code: 'VALIDATION',
      issues: [{ path: 'readonly', message: 'applies to a SQLite file only' }],
    })
    await expect(createCoordinator(config, { database: { allowForeignTables: true } })).rejects.toMatchObject(
      {
        code: 'VALIDATION',
        issues: [{ path: 'allowForeignTables', message: 'applies to a SQLite file only' }],
      },
    )
  })

  it('reads the PostgreSQL schema and pool size, and refuses bad ones naming the variable', () => {
    expect(loadConfig({ AGENT_COMM_PG_SCHEMA: 'team_a', AGENT_COMM_PG_POOL_SIZE: '4' })).toMatchObject({
      postgresSchema: 'team_a',
      postgresPoolSize: 4,
    })
    expect(() => loadConfig({ AGENT_COMM_PG_SCHEMA: 'Team-A' })).toThrow(/AGENT_COMM_PG_SCHEMA/)
    expect(() => loadConfig({ AGENT_COMM_PG_POOL_SIZE: '0' })).toThrow(/AGENT_COMM_PG_POOL_SIZE/)
    let refused: unknown
    try {
      loadConfig({ AGENT_COMM_PG_POOL_SIZE: 'many' })
    } catch (error) {
      refused = error
    }
    expect(refused).toMatchObject({
      code: 'CONFIG',
      hint: 'Fix or unset AGENT_COMM_PG_POOL_SIZE — PostgreSQL only: most connections per process (default: 10).',
    })
  })
})

describe('a coordinator on a SQLite file', () => {
  it('never loads @agent-comm/postgres nor a PostgreSQL driver', async () => {
    // A real Node process on the built package, recording every module it resolves.
    const built = builtCoordinator()
    const dir = mkdtempSync(join(tmpdir(), 'agent-comm-coordinator-sqlite-'))
    try {
      const script = `
        import { registerHooks } from 'node:module'
        const loaded = []
        registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r } })
        const { createCoordinator, loadConfig } = await import(${JSON.stringify(built)})
        const coord = await createCoordinator(loadConfig({ AGENT_COMM_DB_PATH: ${JSON.stringify(join(dir, 'c.db'))} }))
        await coord.register({ agentId: 'a' })
        await coord.send({ fromAgent: 'a', toAgent: 'a', body: 'hi' })
        await coord.close()
        console.log(JSON.stringify(loaded))`
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        env: { PATH: process.env.PATH ?? '' },
      })
      const loaded = JSON.parse(stdout) as string[]
      expect(loaded.some((url) => url.includes('/packages/spool/'))).toBe(true)
      expect(
        loaded.filter((url) => /\/packages\/postgres\/|\/node_modules\/(pg|postgres)\//.test(url)),
      ).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
