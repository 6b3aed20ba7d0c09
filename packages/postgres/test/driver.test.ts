import { inspect } from 'node:util'
import { StorageError } from '@agent-comm/protocol'
import { afterAll, expect, it } from 'vitest'
import { openPostgresSpoolStore, redactUrl } from '../src/index.js'
import { createTestDatabase, openTestStore, reportSkipped } from '../src/testing.js'
import { claimAt, send, T0 } from './sends.js'

const db = await createTestDatabase({
  name: 'driver',
  logger: reportSkipped(
    'the tests of driver.test.ts that open a store by URL (location, passwords, a missing database)',
  ),
})
afterAll(() => db.drop())
const onServer = db.kind === 'server'

const PASSWORD = 'S3cret-pa55word'

/** Every form an error can be printed in: none may show the password. */
function printed(error: unknown): string {
  const e = error as StorageError
  return [String(e), e.message, e.hint, JSON.stringify(e.toJSON()), inspect(e, { depth: 20 }), e.stack].join(
    '\n',
  )
}

/** `url` with the user `postgres` (unless it names one), PASSWORD, and optionally another port or database. */
function withPassword(url: string, change: { port?: number; database?: string } = {}): string {
  const u = new URL(url)
  u.password = PASSWORD
  if (u.username === '') u.username = 'postgres'
  if (change.port !== undefined) u.port = String(change.port)
  if (change.database !== undefined) u.pathname = `/${change.database}`
  return u.toString()
}

it('reports an unreachable server as a StorageError naming it without the password', async () => {
  const url = 'postgres://agent:s3cret-pw@127.0.0.1:1/nowhere'
  const error = await openPostgresSpoolStore({ url }).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(StorageError)
  const storage = error as StorageError
  expect(storage.details).toMatchObject({
    reason: 'unreachable',
    server: 'postgres://agent@127.0.0.1:1/nowhere',
  })
  expect(storage.hint).toContain('postgres://agent@127.0.0.1:1/nowhere')
  expect(printed(storage)).not.toContain('s3cret-pw')
})

it.skipIf(!onServer)('reports a database that does not exist as reason database-missing', async () => {
  const url = withPassword(db.url, { database: 'agent_comm_no_such_database' })
  const error = await openPostgresSpoolStore({ url }).catch((e: unknown) => e)
  expect(error).toMatchObject({
    code: 'STORAGE',
    details: { reason: 'database-missing', sqlState: '3D000' },
    hint: expect.stringContaining('Create the database'),
  })
  expect(printed(error)).not.toContain(PASSWORD)
})

it('refuses a bad URL or pool size with ConfigError before connecting', async () => {
  await expect(openPostgresSpoolStore({ url: 'mysql://x' })).rejects.toMatchObject({ code: 'CONFIG' })
  for (const poolSize of [0, 1.5, -1]) {
    await expect(openPostgresSpoolStore({ url: 'postgres://127.0.0.1:1/x', poolSize })).rejects.toMatchObject(
      { code: 'CONFIG' },
    )
  }
})

it.each([
  ['a port that is not a number', 'postgres://agent:s3cret-pw@127.0.0.1:notaport/db'],
  ['a port above 65535', 'postgres://agent:s3cret-pw@127.0.0.1:99999/db'],
  ['an IPv6 host with no closing bracket', 'postgres://agent:s3cret-pw@[::1/db'],
  ['a password holding an unencoded @', 'postgres://agent:s3cret@pw@127.0.0.1:notaport/db'],
  ['a password holding an unencoded #', 'postgres://agent:s3cret#pw@127.0.0.1:5432/db'],
  ['a password holding an unencoded ?', 'postgres://agent:s3cret?pw@127.0.0.1:5432/db'],
  [
    'a password that an unencoded @ and # split into a host',
    'postgres://agent:s3cret@pw#x@127.0.0.1:5432/db',
  ],
])(
  'refuses a malformed URL (%s) with a ConfigError before connecting, never showing the password',
  async (_, url) => {
    const error = await openPostgresSpoolStore({ url }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('Malformed PostgreSQL URL'),
      hint: expect.stringContaining('postgres://user:password@host:5432/database'),
    })
    expect(printed(error)).not.toMatch(/s3cret|pw@/)
  },
)

it.each([
  ['schema', 'postgres://agent:s3cret-pw@127.0.0.1:5432/db?schema=team_a'],
  ['currentSchema', 'postgres://agent:s3cret-pw@127.0.0.1:5432/db?sslmode=disable&currentSchema=public'],
])(
  'refuses a URL that names a schema with ?%s= (which would be ignored), saying where the schema is set',
  async (param, url) => {
    const error = await openPostgresSpoolStore({ url }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining(`?${param}=`),
      hint: expect.stringContaining('AGENT_COMM_PG_SCHEMA'),
    })
    expect(printed(error)).not.toMatch(/s3cret/)
  },
)

it('removes passwords from URLs entirely, including a password query parameter', () => {
  expect(redactUrl('postgres://u:p@h:5432/db')).toBe('postgres://u@h:5432/db')
  expect(redactUrl('postgres://h/db?password=x&sslmode=require')).toBe('postgres://h/db?sslmode=require')
  const odd = redactUrl('not a url //user:secret@host with ?password=hunter2')
  expect(odd).not.toContain('secret')
  expect(odd).not.toContain('hunter2')
  expect(odd).not.toContain('***')
})

it.skipIf(!onServer)(
  'never shows the password: not in location, messages, hints, details or logs',
  async () => {
    const logs: string[] = []
    const log = (fields: unknown, message: string) => logs.push(`${message} ${JSON.stringify(fields)}`)
    const logger = { debug: log, info: log, warn: log, error: log }
    const url = withPassword(db.url)
    const store = await openPostgresSpoolStore({ url, schema: 'pw', poolSize: 1, logger })
    try {
      expect(store.location).toBe(redactUrl(url))
      expect(store.location).toMatch(/^postgres:\/\/postgres@[^:@/]+:\d+\/agent_comm_t_driver_/)
      // A change feed and an idle pooled connection, both ended by the server: the store logs and reconnects.
      let changes = 0
      const stop = store.watch(() => changes++)
      await expect.poll(() => changes).toBe(1)
      await store.hasClaimable({ recipient: 'x', now: T0 })
      await db
        .client()
        .query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        )
      await expect.poll(() => changes).toBeGreaterThan(1)
      stop()
      // A statement that fails (its table is gone).
      await db.client().query('DROP TABLE pw.deliveries CASCADE')
      const failure = await store.stats({ now: T0 }).catch((e: unknown) => e)
      expect(failure).toMatchObject({
        code: 'STORAGE',
        details: { reason: 'query-failed', sqlState: '42P01' },
      })
      expect(printed(failure)).not.toContain(PASSWORD)
    } finally {
      await store.close()
    }
    expect(logs.some((line) => line.includes('reconnected'))).toBe(true)
    expect(logs.join('\n')).not.toContain(PASSWORD)
    const unreachable = await openPostgresSpoolStore({
      url: withPassword(db.url, { port: 1 }),
      logger,
    }).catch((e: unknown) => e)
    expect(unreachable).toMatchObject({ details: { reason: 'unreachable' } })
    expect(printed(unreachable)).not.toContain(PASSWORD)
  },
)

it('returns int8 as numbers and maps a failed statement to a StorageError, in and out of transactions', async () => {
  const client = db.client()
  const [row] = await client.query<{ big: number; count: number }>(
    'SELECT 1767225600000::int8 AS big, count(*) AS count FROM generate_series(1, 3)',
  )
  expect(row).toEqual({ big: 1767225600000, count: 3 })
  await expect(client.query('SELECT * FROM no_such_table')).rejects.toMatchObject({
    code: 'STORAGE',
    details: { reason: 'query-failed', sqlState: '42P01' },
  })
  await client.query('CREATE TABLE t (x int)')
  await expect(
    client.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1)')
      await tx.query('SELECT 1/0')
    }),
  ).rejects.toBeInstanceOf(StorageError)
  // The caller's own error passes through unchanged and rolls the transaction back.
  const mine = new Error('mine')
  await expect(
    client.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (2)')
      throw mine
    }),
  ).rejects.toBe(mine)
  expect(await client.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 0 }])
})

it('runs on a client passed in, shows the location given, and leaves the client open on close', async () => {
  const client = db.client()
  const store = await openPostgresSpoolStore({
    client,
    location: 'postgres://somewhere/db',
    schema: 'passed_in',
  })
  expect(store.location).toBe('postgres://somewhere/db')
  expect(store.kind).toBe('postgres')
  await store.close()
  await store.close()
  expect(await client.query('SELECT count(*) AS n FROM passed_in.messages')).toEqual([{ n: 0 }])
})

it('lets an error thrown by the caller’s decode through unchanged, and rolls the claim back', async () => {
  const store = await openTestStore(db, { schema: 'decode' })
  try {
    const s = send({ toAgent: 'b' })
    await store.insertMessages({ sends: [s], now: T0 })
    const before = await store.status({ messageId: s.message.id, now: T0 })
    const bug = new TypeError('a bug in decode')
    const claim = store.claim({
      ...claimAt('b', T0),
      decode: () => {
        throw bug
      },
    })
    await expect(claim).rejects.toBe(bug)
    expect(await store.hasClaimable({ recipient: 'b', now: T0 })).toBe(true)
    // Exactly as it was: not leased, no attempt used.
    expect(await store.status({ messageId: s.message.id, now: T0 })).toEqual(before)
  } finally {
    await store.close()
  }
})

it.skipIf(!onServer)(
  'runs send, claim and ack with prepared statements turned off (PgBouncer transaction mode)',
  async () => {
    const store = await openPostgresSpoolStore({
      url: db.url,
      schema: 'unprepared',
      prepare: false,
      poolSize: 2,
    })
    try {
      const s = send({ toAgent: 'plain' })
      await store.insertMessages({ sends: [s], now: T0 })
      const [claimed] = (await store.claim(claimAt('plain', T0))).claimed
      expect(claimed?.value.id).toBe(s.message.id)
      expect(
        await store.ack({ messageId: s.message.id, recipient: 'plain', receipt: claimed!.receipt, now: T0 }),
      ).toEqual({ changed: true })
    } finally {
      await store.close()
    }
  },
)
