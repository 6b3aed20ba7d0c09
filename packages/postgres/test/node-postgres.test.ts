import { inspect } from 'node:util'
import { StorageError } from '@agent-comm/protocol'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createNodePostgresClient } from '../src/index.js'
import { createTestDatabase, reportSkipped, serverTestsCanRun } from '../src/testing.js'
import { sqlClientSuite } from './sql-client-suite.js'

const available = await serverTestsCanRun(
  reportSkipped('node-postgres.test.ts (the node-postgres adapter, on a real server)'),
)

describe.skipIf(!available).each([
  { prepare: true, label: 'named (prepared) statements' },
  { prepare: false, label: 'unnamed statements' },
])('node-postgres adapter with $label', ({ prepare }) => {
  sqlClientSuite('node-postgres', {
    server: true,
    async open() {
      const db = await createTestDatabase({ name: 'node_pg' })
      const client = createNodePostgresClient({
        url: db.url,
        prepare,
        reconnectDelay: { initialMs: 20, maxMs: 500 },
      })
      const other = db.client()
      return {
        client,
        other,
        async close() {
          await client.end()
          await db.drop()
        },
      }
    },
  })
})

const PASSWORD = 'S3cret-pa55word'

/** Every form an error can be printed in: none may show the password. */
function printed(error: unknown): string {
  const e = error as StorageError
  return [String(e), e.message, e.hint, JSON.stringify(e.toJSON()), inspect(e, { depth: 20 }), e.stack].join(
    '\n',
  )
}

function withPassword(url: string, port?: number, database?: string): string {
  const u = new URL(url)
  u.password = PASSWORD
  if (u.username === '') u.username = 'postgres'
  if (port !== undefined) u.port = String(port)
  if (database !== undefined) u.pathname = `/${database}`
  return u.toString()
}

describe.skipIf(!available)('node-postgres errors', () => {
  it('reports a server that does not answer as unreachable, naming the URL without its password', async () => {
    const url = withPassword('postgres://postgres@127.0.0.1:5432/postgres', 1)
    const client = createNodePostgresClient({ url })
    const failure = await client.query('SELECT 1').catch((error: unknown) => error)
    await client.end()
    expect(failure).toBeInstanceOf(StorageError)
    expect((failure as StorageError).details.reason).toBe('unreachable')
    expect((failure as StorageError).message).toMatch(
      /^Could not connect to PostgreSQL at 127\.0\.0\.1:1 \(postgres:\/\/postgres@127\.0\.0\.1:1\/postgres\): connection refused, nothing listens there \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/,
    )
    expect((failure as StorageError).hint).toContain('postgres://postgres@127.0.0.1:1/postgres')
    expect(printed(failure)).not.toContain(PASSWORD)
  })

  it('never shows the password of a URL the server accepted (trust auth ignores it) in a query error', async () => {
    const db = await createTestDatabase({ name: 'pw' })
    const logs: string[] = []
    const logger = {
      debug: (fields: object, message: string) => logs.push(JSON.stringify(fields) + message),
      info: (fields: object, message: string) => logs.push(JSON.stringify(fields) + message),
      warn: (fields: object, message: string) => logs.push(JSON.stringify(fields) + message),
      error: (fields: object, message: string) => logs.push(JSON.stringify(fields) + message),
    }
    const client = createNodePostgresClient({
      url: withPassword(db.url),
      logger,
      reconnectDelay: { initialMs: 20, maxMs: 200 },
    })
    try {
      expect(await client.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }])
      const failure = await client.query(`SELECT '${'x'}'::int`).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(StorageError)
      expect(printed(failure)).not.toContain(PASSWORD)
      // A lost listener is logged: the log names the server without the password.
      let reconnected!: () => void
      const back = new Promise<void>((resolve) => {
        reconnected = resolve
      })
      const stop = await client.listen(
        'pw_channel',
        () => undefined,
        () => reconnected(),
      )
      await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query = 'LISTEN "pw_channel"'`,
      )
      await back
      await stop()
      expect(logs.some((line) => line.includes('reconnect'))).toBe(true)
      expect(logs.join('\n')).not.toContain(PASSWORD)
    } finally {
      await client.end()
      await db.drop()
    }
  })

  it('leaves the global pg int8 parser alone: other pg users in the process still get strings', async () => {
    const db = await createTestDatabase({ name: 'global_types' })
    const ours = db.client()
    const plain = new pg.Client({ connectionString: db.url })
    try {
      expect(await ours.query('SELECT 5::int8 AS n')).toEqual([{ n: 5 }])
      await plain.connect()
      expect((await plain.query('SELECT 5::int8 AS n')).rows).toEqual([{ n: '5' }])
    } finally {
      await plain.end()
      await db.drop()
    }
  })

  it('reports a database that does not exist as database-missing, without the password', async () => {
    const client = createNodePostgresClient({
      url: withPassword('postgres://postgres@127.0.0.1:5432/postgres', undefined, 'agent_comm_no_such_db'),
    })
    const failure = await client.query('SELECT 1').catch((error: unknown) => error)
    await client.end()
    expect((failure as StorageError).details.reason).toBe('database-missing')
    expect((failure as StorageError).message).toMatch(
      /^Could not connect to PostgreSQL at 127\.0\.0\.1:5432 \(postgres:\/\/postgres@127\.0\.0\.1:5432\/agent_comm_no_such_db\): database "agent_comm_no_such_db" does not exist$/,
    )
    expect(printed(failure)).not.toContain(PASSWORD)
  })

  it('fails listen with an unreachable StorageError when no server answers', async () => {
    const client = createNodePostgresClient({ url: withPassword('postgres://127.0.0.1:5432/postgres', 1) })
    const failure = await client.listen('x', () => undefined).catch((error: unknown) => error)
    await client.end()
    expect((failure as StorageError).details.reason).toBe('unreachable')
    expect(printed(failure)).not.toContain(PASSWORD)
  })
})

describe.skipIf(!available)('node-postgres listening and end()', () => {
  it('closes a LISTEN still connecting when the client ends, and refuses to listen after', async () => {
    const db = await createTestDatabase({ name: 'node_pg_end' })
    const client = createNodePostgresClient({ url: db.url })
    try {
      const listening = client.listen('agent_comm_end_test', () => {})
      await client.end()
      await expect(listening).rejects.toMatchObject({ code: 'CLOSED' })
      await expect(client.listen('agent_comm_end_test', () => {})).rejects.toMatchObject({ code: 'CLOSED' })
      // No connection of this database is left listening once end() has returned.
      const other = db.client()
      await expect
        .poll(async () => {
          const [row] = await other.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
          )
          return row!.n
        })
        .toBe(0)
    } finally {
      await db.drop()
    }
  })
})
