import { StorageError } from '@agent-comm/protocol'
import { expect, it } from 'vitest'
import { openPostgresSpoolStore, postgresJsClient, redactUrl } from '../src/index.js'
import { type FreshDatabase, freshDatabase } from './fresh-database.js'
import { claimAt, send, T0 } from './sends.js'

it('reports an unreachable server as a StorageError naming it without the password', async () => {
  const url = 'postgres://agent:s3cret-pw@127.0.0.1:1/nowhere'
  const error = await openPostgresSpoolStore({ url }).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(StorageError)
  const storage = error as StorageError
  expect(storage.details.reason).toBe('unreachable')
  expect(storage.hint).toContain('Is PostgreSQL running at postgres://agent@127.0.0.1:1/nowhere')
  expect(JSON.stringify(storage.toJSON())).not.toContain('s3cret-pw')
  expect(storage.message).not.toContain('s3cret-pw')
})

it('reports a database that does not exist as reason database-missing', async () => {
  const url = 'postgres://postgres:pw@127.0.0.1:5432/agent_comm_no_such_database'
  await expect(openPostgresSpoolStore({ url })).rejects.toMatchObject({
    code: 'STORAGE',
    details: { reason: 'database-missing', sqlState: '3D000' },
    hint: expect.stringContaining('Create the database'),
  })
})

it('refuses a bad URL or pool size with ConfigError before connecting', async () => {
  await expect(openPostgresSpoolStore({ url: 'mysql://x' })).rejects.toMatchObject({ code: 'CONFIG' })
  for (const poolSize of [0, 1.5, -1]) {
    await expect(openPostgresSpoolStore({ url: 'postgres://127.0.0.1:1/x', poolSize })).rejects.toMatchObject(
      { code: 'CONFIG' },
    )
  }
})

it('redacts passwords in URLs, including a password query parameter', () => {
  expect(redactUrl('postgres://u:p@h:5432/db')).toBe('postgres://u@h:5432/db')
  expect(redactUrl('postgres://h/db?password=x&sslmode=require')).not.toContain('=x')
  expect(redactUrl('not a url with :secret@')).not.toContain('secret')
})

it('returns int8 as numbers and maps a failed statement to a StorageError, in and out of transactions', async () => {
  const db: FreshDatabase = await freshDatabase()
  const client = postgresJsClient({ url: db.url, poolSize: 2 })
  try {
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
  } finally {
    await client.end()
    await db.drop()
  }
})

it('runs on a client passed in, shows the location given, and leaves the client open on close', async () => {
  const db: FreshDatabase = await freshDatabase()
  const client = postgresJsClient({ url: db.url, poolSize: 2 })
  try {
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
  } finally {
    await client.end()
    await db.drop()
  }
})

it('lets an error thrown by the caller’s decode through unchanged, and rolls the claim back', async () => {
  const db: FreshDatabase = await freshDatabase()
  const store = await openPostgresSpoolStore({ url: db.url })
  try {
    expect(store.location).toBe(db.url)
    const s = send({ toAgent: 'b' })
    await store.insertMessages({ sends: [s], now: T0 })
    const bug = new TypeError('a bug in decode')
    const claim = store.claim({
      ...claimAt('b', T0),
      decode: () => {
        throw bug
      },
    })
    await expect(claim).rejects.toBe(bug)
    expect(await store.hasClaimable({ recipient: 'b', now: T0 })).toBe(true)
  } finally {
    await store.close()
    await db.drop()
  }
})
