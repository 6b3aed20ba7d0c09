import { appendFileSync, cpSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { describe, expect, it } from 'vitest'
import { applyMigrations, hasTable, SPOOL_MIGRATIONS_FOLDER, Spool } from '../src/index.js'
import { sqliteConnectionOf } from '../src/testing.js'
import { tempDir } from './helpers.js'

const TABLE = '__agent_comm_spool_migrations'

describe('schema migrations', () => {
  it("tells whether the spool's file holds a table, for a store opened on its connection", async () => {
    const spool = await Spool.open({ path: join(tempDir(), 'tables.db') })
    try {
      const sqlite = sqliteConnectionOf(spool)
      expect(hasTable(sqlite, 'messages')).toBe(true)
      expect(hasTable(sqlite, 'a2a_tasks')).toBe(false)
      sqlite.exec('CREATE TABLE a2a_tasks (id TEXT)')
      expect(hasTable(sqlite, 'a2a_tasks')).toBe(true)
    } finally {
      await spool.close()
    }
  })

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
      const applied = sqliteConnectionOf(spool).prepare(`SELECT COUNT(*) FROM ${TABLE}`).pluck().get()
      expect(applied).toBe(readMigrationFiles({ migrationsFolder: SPOOL_MIGRATIONS_FOLDER }).length)
      expect((await spool.search({ text: 'full-text' })).map((m) => m.id)).toEqual(['msg_old'])
      expect((await spool.verify()).ok).toBe(true)
    } finally {
      await spool.close()
    }
  })

  it('moves idempotency keys onto their messages when upgrading, losing no live key', async () => {
    const path = join(tempDir(), 'keys.db')
    const migrations = readMigrationFiles({ migrationsFolder: SPOOL_MIGRATIONS_FOLDER })
    const keysAt = migrations.findIndex((m) =>
      m.sql.some((s) => s.includes('CREATE TABLE `idempotency_keys`')),
    )
    const old = new Database(path)
    old.exec(`CREATE TABLE ${TABLE} (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, created_at NUMERIC)`)
    for (const migration of migrations.slice(0, keysAt + 1)) {
      for (const statement of migration.sql) old.exec(statement)
      old
        .prepare(`INSERT INTO ${TABLE} (hash, created_at) VALUES (?, ?)`)
        .run(migration.hash, migration.folderMillis)
    }
    const now = Date.now()
    const insertMessage = old.prepare(
      `INSERT INTO messages (id, from_agent, to_agent, subject, body, priority, conversation_id, ttl_hours, created_at, expires_at)
       VALUES (?, 'architect', 'builder', 'Task', 'sent with a key', 2, ?, 24, ?, ?)`,
    )
    const insertKey = old.prepare(
      'INSERT INTO idempotency_keys (sender, key, message_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    )
    insertMessage.run('msg_one', 'conv_one', now, now + 86_400_000)
    insertMessage.run('msg_two', 'conv_two', now, now + 86_400_000)
    insertKey.run('architect', 'one', 'msg_one', now, now + 3_600_000)
    // Two keys of one message (a resend under a new key), and a key whose message was cleaned up.
    insertKey.run('architect', 'two-a', 'msg_two', now, now + 3_600_000)
    insertKey.run('architect', 'two-b', 'msg_two', now, now + 3_600_000)
    insertKey.run('architect', 'gone', 'msg_gone', now, now + 3_600_000)
    old.close()

    const spool = await Spool.open({ path })
    try {
      const sqlite = sqliteConnectionOf(spool)
      expect(sqlite.prepare(`SELECT idempotency_key FROM messages WHERE id = 'msg_one'`).pluck().get()).toBe(
        'one',
      )
      expect(sqlite.prepare('SELECT COUNT(*) FROM idempotency_keys').pluck().get()).toBe(2)
      const expected = { one: 'msg_one', 'two-a': 'msg_two', 'two-b': 'msg_two', gone: 'msg_gone' }
      for (const [idempotencyKey, messageId] of Object.entries(expected)) {
        const retry = await spool.send(
          { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'sent with a key' },
          { idempotencyKey },
        )
        expect(retry).toMatchObject({ messageId, duplicate: true, deliveries: 0 })
      }
      expect((await spool.stats()).totalMessages).toBe(2)
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
      const count = sqliteConnectionOf(spool).prepare(`SELECT COUNT(*) FROM ${TABLE}`).pluck().get()
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
