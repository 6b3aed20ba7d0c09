import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { FOREIGN_DATABASE, MISSING_DATABASE, Spool } from '../src/index.js'
import { tempDir } from './helpers.js'

/** The error `promise` rejects with. */
async function failure(
  promise: Promise<unknown>,
): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await promise
  } catch (error) {
    return error as { code: string; details: Record<string, unknown> }
  }
  throw new Error('expected the open to fail')
}

describe('opening a database file', () => {
  it('refuses a missing file with create: false, and creates nothing', async () => {
    const path = join(tempDir(), 'typo', 'coordination.db')
    const error = await failure(Spool.open({ path, create: false }))
    expect(error.code).toBe('STORAGE')
    expect(error.details.reason).toBe(MISSING_DATABASE)
    expect(existsSync(join(path, '..'))).toBe(false)
  })

  it('opens an existing database with create: false', async () => {
    const path = join(tempDir(), 'coordination.db')
    await (await Spool.open({ path })).close()
    const spool = await Spool.open({ path, create: false })
    await spool.close()
  })

  it("refuses another application's SQLite file and leaves it untouched", async () => {
    const path = join(tempDir(), 'shop.db')
    const shop = new Database(path)
    shop.exec(
      "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada')",
    )
    shop.close()

    const error = await failure(Spool.open({ path }))
    expect(error.code).toBe('STORAGE')
    expect(error.details.reason).toBe(FOREIGN_DATABASE)
    expect(error.details.tables).toEqual(['customers'])
    const tables = (file: string) => {
      const db = new Database(file, { readonly: true })
      try {
        return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all()
      } finally {
        db.close()
      }
    }
    expect(tables(path)).toEqual(['customers'])

    const spool = await Spool.open({ path, allowForeignTables: true })
    await spool.close()
    expect(tables(path)).toContain('messages')
    // Once agent-comm's tables are there, the file is ours too: no flag needed any more.
    await (await Spool.open({ path })).close()
  })
})
