import { StorageError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { createNodePostgresClient } from '../src/index.js'
import {
  createTestDatabase,
  DEFAULT_TEST_PG_URL,
  pgServerAvailable,
  reportSkipped,
  serverTestsCanRun,
} from '../src/testing.js'

const available = await serverTestsCanRun(reportSkipped('the server part of testing.test.ts'))
// Port 1 on loopback: nothing listens there, so this is "no PostgreSQL server".
const NO_SERVER = { AGENT_COMM_TEST_PG_URL: 'postgres://postgres:hunter2-secret@127.0.0.1:1/postgres' }

describe('pgServerAvailable', () => {
  it('is false when nothing answers at AGENT_COMM_TEST_PG_URL', async () => {
    expect(await pgServerAvailable(NO_SERVER)).toBe(false)
  })
})

describe.skipIf(!available)('createTestDatabase on a server', () => {
  it('creates a uniquely named database that drop() removes even with connections left open', async () => {
    const a = await createTestDatabase({ name: 'helper' })
    const b = await createTestDatabase({ name: 'helper' })
    expect(a.kind).toBe('server')
    expect(a.url).not.toBe(b.url)
    const name = new URL(a.url).pathname.slice(1)
    expect(name).toMatch(/^agent_comm_t_helper_[0-9a-f]{12}$/)
    const client = a.client()
    await client.query('CREATE TABLE t (x int)')
    expect(await client.query<{ db: string }>('SELECT current_database() AS db')).toEqual([{ db: name }])
    // A connection the test forgot to close does not stop the drop (WITH (FORCE)).
    const forgotten = createNodePostgresClient({ url: a.url })
    await forgotten.query('SELECT 1')
    await a.drop()
    await b.drop()
    const admin = createNodePostgresClient({ url: DEFAULT_TEST_PG_URL })
    const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    await admin.end()
    await forgotten.end()
    expect(left).toEqual([])
  })
})

describe('createTestDatabase without a server', () => {
  it('fails under CI=true: a missing server is a failure in CI, never a skip', async () => {
    const failure = await createTestDatabase({ env: { ...NO_SERVER, CI: 'true' } }).catch(
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(StorageError)
    expect((failure as StorageError).details.reason).toBe('unreachable')
    expect((failure as StorageError).message).toContain('127.0.0.1:1')
    expect(JSON.stringify((failure as StorageError).toJSON())).not.toContain('hunter2-secret')
  })

  it('falls back to PGlite elsewhere, saying once why the server-only tests are skipped', async () => {
    const warnings: string[] = []
    const logger = { warn: (_fields: object, message: string) => void warnings.push(message) }
    const first = await createTestDatabase({ env: NO_SERVER, logger })
    const second = await createTestDatabase({ env: NO_SERVER, logger })
    try {
      expect(first.kind).toBe('pglite')
      expect(first.reason).toContain('skipped')
      expect(first.reason).toContain('127.0.0.1:1')
      expect(first.reason).not.toContain('hunter2-secret')
      expect(warnings).toEqual([first.reason])
      const client = first.client()
      await client.query('CREATE TABLE t (at bigint)')
      await client.query('INSERT INTO t VALUES ($1)', [1_764_390_000_000])
      expect(await client.query('SELECT at FROM t')).toEqual([{ at: 1_764_390_000_000 }])
    } finally {
      await first.drop()
      await second.drop()
    }
  })
})

describe('serverTestsCanRun without a server', () => {
  it('says why the server-only tests are skipped, and refuses to skip them under CI=true', async () => {
    const warnings: string[] = []
    const logger = { warn: (_fields: object, message: string) => void warnings.push(message) }
    expect(await serverTestsCanRun(logger, NO_SERVER)).toBe(false)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('skipped')
    expect(warnings[0]).not.toContain('hunter2-secret')
    await expect(serverTestsCanRun(logger, { ...NO_SERVER, CI: 'true' })).rejects.toMatchObject({
      code: 'STORAGE',
      hint: expect.stringContaining('In CI'),
    })
  })
})
