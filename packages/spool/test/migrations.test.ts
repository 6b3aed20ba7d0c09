import { appendFileSync, cpSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { describe, expect, it } from 'vitest'
import { applyMigrations, SPOOL_MIGRATIONS_FOLDER, Spool, sqliteConnection } from '../src/index.js'
import { tempDir } from './helpers.js'

const TABLE = '__agent_comm_spool_migrations'

describe('schema migrations', () => {
  it('opens a database created by the first migration and upgrades it, keeping its messages', async () => {
    const path = join(tempDir(), 'old.db')
    const [first] = readMigrationFiles({ migrationsFolder: SPOOL_MIGRATIONS_FOLDER })
    const old = new Database(path)
    for (const statement of first!.sql) old.exec(statement)
    old.exec(`CREATE TABLE ${TABLE} (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, created_at NUMERIC)`)
    old.prepare(`INSERT INTO ${TABLE} (hash, created_at) VALUES (?, ?)`).run(first!.hash, first!.folderMillis)
    old
      .prepare(
        `INSERT INTO messages (id, from_agent, to_agent, subject, body, priority, conversation_id, ttl_hours, created_at, expires_at)
         VALUES ('msg_old', 'architect', 'builder', 'Legacy', 'written before full-text search existed', 2, 'conv_old', 24, ?, ?)`,
      )
      .run(Date.now(), Date.now() + 86_400_000)
    old.close()

    const spool = await Spool.open({ path })
    try {
      const applied = sqliteConnection(spool).prepare(`SELECT COUNT(*) FROM ${TABLE}`).pluck().get()
      expect(applied).toBe(readMigrationFiles({ migrationsFolder: SPOOL_MIGRATIONS_FOLDER }).length)
      expect((await spool.search({ text: 'full-text' })).map((m) => m.id)).toEqual(['msg_old'])
      expect((await spool.verify()).ok).toBe(true)
    } finally {
      await spool.close()
    }
  })

  it('reopens an up-to-date database without applying anything twice', async () => {
    const path = join(tempDir(), 'twice.db')
    await (await Spool.open({ path })).close()
    const spool = await Spool.open({ path })
    try {
      const count = sqliteConnection(spool).prepare(`SELECT COUNT(*) FROM ${TABLE}`).pluck().get()
      expect(count).toBe(readMigrationFiles({ migrationsFolder: SPOOL_MIGRATIONS_FOLDER }).length)
    } finally {
      await spool.close()
    }
  })

  it('refuses a database written by a newer version, saying what to do', async () => {
    const path = join(tempDir(), 'newer.db')
    await (await Spool.open({ path })).close()
    const db = new Database(path)
    db.prepare(`INSERT INTO ${TABLE} (hash, created_at) VALUES ('from-the-future', ?)`).run(
      Date.now() + 10 ** 12,
    )
    db.close()
    await expect(Spool.open({ path })).rejects.toMatchObject({
      code: 'SCHEMA_VERSION',
      message: expect.stringContaining('newer than this version'),
      hint: expect.stringContaining('Upgrade agent-comm'),
    })
  })

  it('refuses a database whose applied migration was edited since, rather than applying it again', async () => {
    const path = join(tempDir(), 'edited.db')
    await (await Spool.open({ path })).close()
    const folder = join(tempDir(), 'drizzle')
    cpSync(SPOOL_MIGRATIONS_FOLDER, folder, { recursive: true })
    appendFileSync(join(folder, '0000_core.sql'), '\n--> statement-breakpoint\nSELECT 1;\n')
    for (const readonly of [false, true]) {
      const db = new Database(path, { readonly })
      try {
        expect(() => applyMigrations(db, { folder, table: TABLE, name: 'spool' })).toThrow(
          expect.objectContaining({
            code: 'SCHEMA_VERSION',
            message: expect.stringContaining('0000_core.sql'),
            hint: expect.stringContaining('restore the migration file'),
          }),
        )
      } finally {
        db.close()
      }
    }
    // Nothing was run or recorded: the shipped migrations still open it.
    const spool = await Spool.open({ path })
    await spool.close()
  })

  it('refuses a file that is not a database with a clear storage error', async () => {
    const path = join(tempDir(), 'garbage.db')
    writeFileSync(path, 'this is not sqlite '.repeat(200))
    await expect(Spool.open({ path })).rejects.toMatchObject({
      code: 'STORAGE',
      message: expect.stringContaining('not a usable agent-comm database'),
    })
  })
})
