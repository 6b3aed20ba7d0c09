import { join } from 'node:path'
import { SPOOL_MIGRATIONS_FOLDER, Spool } from '@agent-comm/spool'
import Database from 'better-sqlite3'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { describe, expect, it } from 'vitest'
import { REGISTRY_MIGRATIONS_FOLDER, REGISTRY_MIGRATIONS_TABLE, Registry } from '../src/index.js'
import { onCleanup, tempDir } from './helpers.js'

const SPOOL_TABLE = '__agent_comm_spool_migrations'
const migrationCount = (folder: string): number => readMigrationFiles({ migrationsFolder: folder }).length

/** Names of the tables in the database file at `path`. */
function tables(path: string): string[] {
  const db = new Database(path, { readonly: true })
  try {
    return db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[]
  } finally {
    db.close()
  }
}

/** Rows in `table` of the database file at `path`. */
function count(path: string, table: string): number {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare(`SELECT COUNT(*) FROM "${table}"`).pluck().get() as number
  } finally {
    db.close()
  }
}

describe('one database file for the spool and the registry', () => {
  it('keeps both sets of tables and migrations side by side on one connection', async () => {
    const path = join(tempDir(), 'coordination.db')
    const spool = await Spool.open({ path })
    onCleanup(() => spool.close())
    const registry = await Registry.open({ spool })
    onCleanup(() => registry.close())

    await registry.register({ agentId: 'builder', capabilities: ['code'] })
    await spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'Implement auth' })

    expect(tables(path)).toEqual(
      expect.arrayContaining([
        'agents',
        'agent_capabilities',
        'messages',
        'deliveries',
        SPOOL_TABLE,
        REGISTRY_MIGRATIONS_TABLE,
      ]),
    )
    expect(count(path, REGISTRY_MIGRATIONS_TABLE)).toBe(migrationCount(REGISTRY_MIGRATIONS_FOLDER))
    expect(count(path, SPOOL_TABLE)).toBe(migrationCount(SPOOL_MIGRATIONS_FOLDER))
    expect((await spool.claim('builder')).map((c) => c.message.body)).toEqual(['Implement auth'])
  })

  it('reopens an existing database without applying anything twice and keeps the agents', async () => {
    const path = join(tempDir(), 'coordination.db')
    for (let round = 0; round < 3; round++) {
      const spool = await Spool.open({ path })
      const registry = await Registry.open({ spool })
      await registry.register({ agentId: `agent-${round}` })
      await registry.close()
      await spool.close()
    }
    expect(count(path, REGISTRY_MIGRATIONS_TABLE)).toBe(migrationCount(REGISTRY_MIGRATIONS_FOLDER))
    expect(count(path, SPOOL_TABLE)).toBe(migrationCount(SPOOL_MIGRATIONS_FOLDER))
    const registry = await Registry.open({ path })
    onCleanup(() => registry.close())
    expect((await registry.list()).map((p) => p.agentId)).toEqual(['agent-0', 'agent-1', 'agent-2'])
  })

  it('works standalone on a path, and a spool opened later on that file migrates beside it', async () => {
    const path = join(tempDir(), 'nested', 'folder', 'agents.db')
    const registry = await Registry.open({ path })
    await registry.register({ agentId: 'builder', capabilities: ['code'] })
    expect(registry.path).toBe(path)
    await registry.close()
    await expect(registry.list()).rejects.toMatchObject({ code: 'CLOSED' })

    const spool = await Spool.open({ path })
    onCleanup(() => spool.close())
    const shared = await Registry.open({ spool })
    expect((await shared.require('builder')).capabilities).toEqual(['code'])
    expect(count(path, SPOOL_TABLE)).toBe(migrationCount(SPOOL_MIGRATIONS_FOLDER))
  })

  it('refuses a database whose registry tables were written by a newer version', async () => {
    const path = join(tempDir(), 'newer.db')
    await (await Registry.open({ path })).close()
    const db = new Database(path)
    db.prepare(
      `INSERT INTO ${REGISTRY_MIGRATIONS_TABLE} (hash, created_at) VALUES ('from-the-future', ?)`,
    ).run(Date.now() + 10 ** 12)
    db.close()
    await expect(Registry.open({ path })).rejects.toMatchObject({
      code: 'SCHEMA_VERSION',
      message: expect.stringContaining('registry database schema is newer'),
      hint: expect.stringContaining('Upgrade agent-comm'),
    })
  })

  it('reports a file that is not a database as a storage error', async () => {
    const path = join(tempDir(), 'garbage.db')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(path, 'this is not sqlite '.repeat(200))
    await expect(Registry.open({ path })).rejects.toMatchObject({
      code: 'STORAGE',
      message: expect.stringContaining('not a usable agent-comm database'),
    })
  })
})
