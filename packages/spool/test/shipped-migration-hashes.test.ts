import { appendFileSync, cpSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { describe, expect, it } from 'vitest'
import { applyMigrations, SPOOL_MIGRATIONS_FOLDER, writeShippedHashes } from '../src/index.js'
import { tempDir } from './helpers.js'

const TABLE = '__agent_comm_spool_migrations'

/** A copy of the spool's migrations with their hashes shipped beside the journal, as the CLI's bundle has. */
function shippedCopy(): { folder: string; table: string; name: string } {
  const folder = join(tempDir(), 'drizzle')
  cpSync(SPOOL_MIGRATIONS_FOLDER, folder, { recursive: true })
  writeShippedHashes(folder)
  return { folder, table: TABLE, name: 'spool' }
}

/** Runs `use` on a new database file `name` in a temp folder, closing it after. */
function withDatabase(name: string, use: (db: Database.Database) => void): void {
  const db = new Database(join(tempDir(), name))
  try {
    use(db)
  } finally {
    db.close()
  }
}

const recorded = (db: Database.Database): number =>
  db.prepare(`SELECT COUNT(*) FROM ${TABLE}`).pluck().get() as number

describe('migrations with shipped hashes', () => {
  it('opens a database at the shipped migrations without reading the migration files', () => {
    const set = shippedCopy()
    withDatabase('current.db', (db) => {
      const all = readMigrationFiles({ migrationsFolder: set.folder }).length
      expect(applyMigrations(db, set)).toEqual({ applied: all, current: all })
      // Were the files read and hashed, these would be edited migrations, and the database refused.
      for (const file of readdirSync(set.folder).filter((name) => name.endsWith('.sql'))) {
        writeFileSync(join(set.folder, file), 'not read')
      }
      expect(applyMigrations(db, set)).toEqual({ applied: 0, current: all })
      expect(recorded(db)).toBe(all)
    })
  })

  it('still upgrades a database that lacks some of them', () => {
    const set = shippedCopy()
    const [first, ...rest] = readMigrationFiles({ migrationsFolder: set.folder })
    withDatabase('older.db', (db) => {
      for (const statement of first!.sql) db.exec(statement)
      db.exec(`CREATE TABLE ${TABLE} (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, created_at NUMERIC)`)
      db.prepare(`INSERT INTO ${TABLE} (hash, created_at) VALUES (?, ?)`).run(
        first!.hash,
        first!.folderMillis,
      )
      expect(applyMigrations(db, set)).toEqual({ applied: rest.length, current: rest.length + 1 })
      expect(recorded(db)).toBe(rest.length + 1)
    })
  })

  it('still refuses a database written by a newer version', () => {
    const set = shippedCopy()
    withDatabase('newer.db', (db) => {
      applyMigrations(db, set)
      db.prepare(`INSERT INTO ${TABLE} (hash, created_at) VALUES ('from-the-future', ?)`).run(
        Date.now() + 10 ** 12,
      )
      expect(() => applyMigrations(db, set)).toThrow(
        expect.objectContaining({ code: 'SCHEMA_VERSION', message: expect.stringContaining('newer') }),
      )
    })
  })

  it('still refuses a database migrated with another version of a shipped migration', () => {
    const set = shippedCopy()
    withDatabase('edited.db', (db) => {
      applyMigrations(db, set)
      // The migration edited after it ran, and its hashes shipped again (a later build).
      appendFileSync(join(set.folder, '0000_core.sql'), '\n--> statement-breakpoint\nSELECT 1;\n')
      writeShippedHashes(set.folder)
      expect(() => applyMigrations(db, set)).toThrow(
        expect.objectContaining({
          code: 'SCHEMA_VERSION',
          message: expect.stringContaining('0000_core.sql'),
        }),
      )
    })
  })
})
