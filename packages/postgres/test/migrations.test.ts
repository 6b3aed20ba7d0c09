import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SchemaVersionError } from '@agent-comm/protocol'
import { afterAll, expect, it } from 'vitest'
import { applyPostgresMigrations, POSTGRES_MIGRATIONS_FOLDER } from '../src/index.js'
import { createTestDatabase, openTestStore } from '../src/testing.js'

const db = await createTestDatabase({ name: 'migrations' })
afterAll(() => db.drop())

it('records each migration once and applies nothing on a second open', async () => {
  const client = db.client()
  const first = await applyPostgresMigrations(client, 'm_once')
  expect(first.applied).toBe(first.current)
  expect(first.current).toBeGreaterThan(0)
  expect(await applyPostgresMigrations(client, 'm_once')).toEqual({ applied: 0, current: first.current })
})

it('vacuums deliveries after 1 % of its rows are dead, not the default 20 %', async () => {
  const client = db.client()
  await applyPostgresMigrations(client, 'm_vacuum')
  const [row] = await client.query<{ options: string[] }>(
    `SELECT reloptions AS options FROM pg_class WHERE oid = 'm_vacuum.deliveries'::regclass`,
  )
  expect(row?.options).toEqual(
    expect.arrayContaining([
      'autovacuum_vacuum_scale_factor=0.01',
      'autovacuum_vacuum_threshold=1000',
      'autovacuum_analyze_scale_factor=0.02',
    ]),
  )
})

it('refuses a schema that a newer version migrated, with SchemaVersionError', async () => {
  const store = await openTestStore(db, { schema: 'm_newer' })
  await store.close()
  await db
    .client()
    .query(
      `INSERT INTO m_newer.__agent_comm_spool_migrations (hash, created_at) VALUES ('from-the-future', $1)`,
      [Date.UTC(2100, 0, 1)],
    )
  const opened = openTestStore(db, { schema: 'm_newer' })
  await expect(opened).rejects.toBeInstanceOf(SchemaVersionError)
  await expect(opened).rejects.toMatchObject({ code: 'SCHEMA_VERSION' })
  // The hint names the settings a CLI or relay user has, not only the option of the code.
  await expect(opened).rejects.toMatchObject({
    hint: expect.stringMatching(/restore a copy taken before the upgrade.*AGENT_COMM_PG_SCHEMA for the CLI/),
  })
})

it('refuses a schema whose applied migration was edited since, rather than applying it again', async () => {
  const client = db.client()
  await applyPostgresMigrations(client, 'm_edited')
  const folder = mkdtempSync(join(tmpdir(), 'agent-comm-migrations-'))
  try {
    cpSync(POSTGRES_MIGRATIONS_FOLDER, folder, { recursive: true })
    appendFileSync(join(folder, '0000_core.sql'), '\n--> statement-breakpoint\nSELECT 1;\n')
    const opened = applyPostgresMigrations(client, 'm_edited', folder)
    await expect(opened).rejects.toBeInstanceOf(SchemaVersionError)
    await expect(opened).rejects.toMatchObject({
      code: 'SCHEMA_VERSION',
      message: expect.stringContaining('0000_core.sql'),
      hint: expect.stringContaining('restore the migration file'),
      details: { schema: 'm_edited', edited: ['0000_core.sql'] },
    })
    // Nothing was run or recorded: the shipped migrations still open it.
    expect(await applyPostgresMigrations(client, 'm_edited')).toMatchObject({ applied: 0 })
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

it('refuses a schema name that is not a plain identifier, before any SQL', async () => {
  for (const schema of ['x"; DROP TABLE y; --', 'Upper', '1abc', 'pg_catalog', 'a'.repeat(53)]) {
    await expect(openTestStore(db, { schema })).rejects.toMatchObject({ code: 'CONFIG' })
  }
})

it('refuses PostgreSQL system schemas (pg_*, information_schema, in any case) as the spool schema', async () => {
  for (const schema of [
    'information_schema',
    'INFORMATION_SCHEMA',
    'Information_Schema',
    'pg_toast',
    'PG_x',
  ]) {
    await expect(openTestStore(db, { schema })).rejects.toMatchObject({
      code: 'CONFIG',
      hint: expect.stringContaining('team_a'),
    })
  }
  const tables = await db
    .client()
    .query(
      "SELECT 1 FROM information_schema.tables WHERE table_schema = 'information_schema' AND table_name = 'deliveries'",
    )
  expect(tables).toEqual([])
})
