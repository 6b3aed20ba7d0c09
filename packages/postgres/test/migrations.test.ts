import { SchemaVersionError } from '@agent-comm/protocol'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { applyPostgresMigrations, openPostgresSpoolStore, postgresJsClient } from '../src/index.js'
import { type FreshDatabase, freshDatabase } from './fresh-database.js'

let db: FreshDatabase

beforeAll(async () => {
  db = await freshDatabase()
})
afterAll(async () => {
  await db?.drop()
})

it('records each migration once and applies nothing on a second open', async () => {
  const client = postgresJsClient({ url: db.url, poolSize: 2 })
  try {
    const first = await applyPostgresMigrations(client, 'm_once')
    expect(first.applied).toBe(first.current)
    expect(first.current).toBeGreaterThan(0)
    expect(await applyPostgresMigrations(client, 'm_once')).toEqual({ applied: 0, current: first.current })
  } finally {
    await client.end()
  }
})

it('refuses a schema that a newer version migrated, with SchemaVersionError', async () => {
  const store = await openPostgresSpoolStore({ url: db.url, schema: 'm_newer' })
  await store.close()
  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(
      `INSERT INTO m_newer.__agent_comm_spool_migrations (hash, created_at) VALUES ('from-the-future', $1)`,
      [Date.UTC(2100, 0, 1)],
    )
  } finally {
    await sql.end()
  }
  const opened = openPostgresSpoolStore({ url: db.url, schema: 'm_newer' })
  await expect(opened).rejects.toBeInstanceOf(SchemaVersionError)
  await expect(opened).rejects.toMatchObject({ code: 'SCHEMA_VERSION' })
})

it('refuses a schema name that is not a plain identifier, before any SQL', async () => {
  for (const schema of ['x"; DROP TABLE y; --', 'Upper', '1abc', 'pg_catalog', 'a'.repeat(53)]) {
    await expect(openPostgresSpoolStore({ url: db.url, schema })).rejects.toMatchObject({ code: 'CONFIG' })
  }
})
