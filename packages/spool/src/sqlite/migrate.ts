import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SchemaVersionError, StorageError } from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'
import { FOREIGN_DATABASE } from './database.js'

/** One migration as drizzle-kit wrote it: its statements, its journal time and the hash of its file. */
interface MigrationFile {
  sql: string[]
  folderMillis: number
  hash: string
}

/**
 * Reads a drizzle-kit migrations folder as drizzle's own migrator does — the journal's entries in order,
 * each `<tag>.sql` split at `--> statement-breakpoint`, the SHA-256 of the file's text as its hash, the
 * journal's `when` as its time — so databases migrated before keep matching. Done here rather than with
 * `drizzle-orm/migrator` so that opening a database never loads drizzle (see `openQueryBuilder`).
 */
function readMigrationFiles({ migrationsFolder }: { migrationsFolder: string }): MigrationFile[] {
  const journalPath = join(migrationsFolder, 'meta', '_journal.json')
  if (!existsSync(journalPath)) throw new Error(`Can't find meta/_journal.json file in ${migrationsFolder}`)
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as {
    entries: { tag: string; when: number }[]
  }
  return journal.entries.map((entry) => {
    const path = join(migrationsFolder, `${entry.tag}.sql`)
    let query: string
    try {
      query = readFileSync(path).toString()
    } catch (error) {
      throw new Error(`No file ${path} found in ${migrationsFolder} folder`, { cause: error })
    }
    return {
      sql: query.split('--> statement-breakpoint'),
      folderMillis: entry.when,
      // node:crypto loaded here, not at the top: a database already at the shipped migrations is checked
      // without hashing (shippedMigrationsApplied), and the CLI's `send` then never loads it.
      hash: process.getBuiltinModule('node:crypto').createHash('sha256').update(query).digest('hex'),
    }
  })
}

/** Where a set of drizzle-kit migrations lives and which table records them. */
export interface MigrationSet {
  /** Folder written by `drizzle-kit generate` (holds `meta/_journal.json`). */
  folder: string
  /** Table recording applied migrations; each package that owns tables uses its own. */
  table: string
  /** Human name used in error messages, e.g. `spool`. */
  name: string
}

/** Options of {@link applyMigrations}. */
export interface MigrateOptions {
  /** Add agent-comm's tables to a file that holds only other applications' tables (default false). */
  allowForeignTables?: boolean
}

/** The outcome of {@link applyMigrations}. */
export interface MigrationResult {
  applied: number
  current: number
}

/**
 * Applies the pending drizzle-kit migrations of `set` to `sqlite`.
 *
 * We do not use drizzle's own migrator because it opens a deferred transaction: two processes opening
 * a fresh database at once would both read "nothing applied" and one would fail with SQLITE_BUSY when
 * upgrading to a write lock. Here the check and the apply happen under `BEGIN IMMEDIATE`, so concurrent
 * openers queue on the busy timeout and the second finds the work done. The bookkeeping table has the
 * same shape as drizzle's, so drizzle-kit tooling still reads it.
 *
 * A database that records a migration this code does not know was written by a newer version: it is
 * refused with {@link SchemaVersionError} rather than used with a schema we do not understand.
 */
export function applyMigrations(
  sqlite: BetterSqlite3.Database,
  set: MigrationSet,
  options: MigrateOptions = {},
): MigrationResult {
  const table = `"${set.table.replaceAll('"', '""')}"`
  if (sqlite.readonly) {
    return checkMigrations(sqlite, set, readMigrationFiles({ migrationsFolder: set.folder }), table)
  }
  const shipped = readShippedHashes(set.folder)
  const run = sqlite.transaction((): MigrationResult => {
    if (options.allowForeignTables !== true) refuseForeignFile(sqlite)
    sqlite.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, created_at NUMERIC)`,
    )
    const applied = sqlite
      .prepare(`SELECT hash, created_at AS createdAt FROM ${table} ORDER BY created_at`)
      .all() as {
      hash: string
      createdAt: number
    }[]
    if (shipped !== undefined && sameMigrations(shipped, applied)) {
      return { applied: 0, current: shipped.length }
    }
    const known = readMigrationFiles({ migrationsFolder: set.folder })
    refuseNewerSchema(set, known, applied)
    refuseEditedMigrations(set, known, applied)
    const done = new Set(applied.map((row) => row.hash))
    let count = 0
    for (const migration of known) {
      if (done.has(migration.hash)) continue
      for (const statement of migration.sql) {
        if (statement.trim() !== '') sqlite.exec(statement)
      }
      sqlite
        .prepare(`INSERT INTO ${table} (hash, created_at) VALUES (?, ?)`)
        .run(migration.hash, migration.folderMillis)
      count++
    }
    return { applied: count, current: known.length }
  })
  return run.immediate()
}

type Migration = ReturnType<typeof readMigrationFiles>[number]

/** The file, next to drizzle-kit's journal, that {@link writeShippedHashes} writes. */
const SHIPPED_HASHES = '_agent_comm_hashes.json'

/**
 * Writes the hash and journal time of every migration of `folder` to `meta/_agent_comm_hashes.json`, for a
 * copy of the migrations that is build output and is not edited after (the CLI's bundle writes it into its
 * copy). {@link applyMigrations} then opens a database that records exactly these migrations without
 * reading and hashing every migration file; any other database (older, newer, edited) is checked from the
 * files as always.
 */
export function writeShippedHashes(folder: string): void {
  const hashes = readMigrationFiles({ migrationsFolder: folder }).map(({ folderMillis, hash }) => ({
    folderMillis,
    hash,
  }))
  writeFileSync(join(folder, 'meta', SHIPPED_HASHES), `${JSON.stringify(hashes, null, 2)}\n`)
}

/** The migrations {@link writeShippedHashes} recorded for `folder`, or undefined when it did not. */
function readShippedHashes(folder: string): { folderMillis: number; hash: string }[] | undefined {
  let text: string
  try {
    text = readFileSync(join(folder, 'meta', SHIPPED_HASHES), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  return JSON.parse(text) as { folderMillis: number; hash: string }[]
}

/** Whether `applied` records exactly the migrations of `known`, each under its hash and journal time. */
function sameMigrations(
  known: readonly { folderMillis: number; hash: string }[],
  applied: readonly { hash: string; createdAt: number | string }[],
): boolean {
  if (known.length !== applied.length) return false
  const appliedAt = new Map(applied.map((row) => [Number(row.createdAt), row.hash]))
  return known.every((m) => appliedAt.get(m.folderMillis) === m.hash)
}

/** Throws {@link SchemaVersionError} when `applied` records a migration newer than every one of `known`. */
function refuseNewerSchema(
  set: MigrationSet,
  known: Migration[],
  applied: { hash: string; createdAt: number }[],
): void {
  const knownHashes = new Set(known.map((m) => m.hash))
  const latestKnown = known.at(-1)?.folderMillis ?? 0
  const unknown = applied.filter((row) => !knownHashes.has(row.hash) && Number(row.createdAt) > latestKnown)
  if (unknown.length > 0) {
    throw new SchemaVersionError(
      `The ${set.name} database schema is newer than this version of agent-comm understands (it has ${applied.length} migrations, this version knows ${known.length})`,
      {
        hint: 'Upgrade agent-comm to the version that wrote this database, or point it at another database file.',
      },
    )
  }
}

/**
 * Throws {@link SchemaVersionError} when a migration of `known` was applied from other SQL: the database
 * records its timestamp (drizzle-kit's `when`, unique per migration) under another hash, so the file was
 * edited after it ran. Applying it again would run its DDL twice over the tables it made, so the database
 * is refused instead.
 */
function refuseEditedMigrations(
  set: MigrationSet,
  known: Migration[],
  applied: { hash: string; createdAt: number }[],
): void {
  const files = editedMigrationFiles(set.folder, known, applied)
  if (files.length === 0) return
  throw new SchemaVersionError(
    `The ${set.name} database was migrated with a different version of ${files.join(', ')} than this version of agent-comm ships: the migration was edited after it was applied, and is not applied again`,
    {
      hint: 'Use the agent-comm version that migrated this database (restore the migration file as it was released), or point it at another database file.',
      details: { edited: files },
    },
  )
}

/**
 * What {@link applyMigrations} does on a read-only connection: nothing is written, so a schema this
 * version does not match exactly is refused — a newer one as always, an older one (or none) because it
 * cannot be upgraded by a user who may not write it.
 */
function checkMigrations(
  sqlite: BetterSqlite3.Database,
  set: MigrationSet,
  known: Migration[],
  table: string,
): MigrationResult {
  refuseForeignFile(sqlite)
  const recorded =
    sqlite.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(set.table) !==
    undefined
  const applied = recorded
    ? (sqlite.prepare(`SELECT hash, created_at AS createdAt FROM ${table}`).all() as {
        hash: string
        createdAt: number
      }[])
    : []
  refuseNewerSchema(set, known, applied)
  refuseEditedMigrations(set, known, applied)
  const done = new Set(applied.map((row) => row.hash))
  const missing = known.filter((migration) => !done.has(migration.hash)).length
  if (missing > 0) {
    throw new SchemaVersionError(
      `The ${set.name} database schema is older than this version of agent-comm (it lacks ${missing} of ${known.length} migrations), and it is read-only for this user, so it cannot be upgraded`,
      {
        hint: 'Ask its owner to run agent-comm on it once (any command that writes upgrades it), use the agent-comm version that wrote it, or work on a copy.',
      },
    )
  }
  return { applied: 0, current: known.length }
}

/**
 * Refuses a file that holds tables and none of agent-comm's (every package that owns tables records its
 * migrations in a `__agent_comm_*` table): `--db` pointed at another application's database must not
 * have our tables added to it. An empty file, or one agent-comm already uses, passes.
 */
function refuseForeignFile(sqlite: BetterSqlite3.Database): void {
  const tables = sqlite
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`)
    .pluck()
    .all() as string[]
  if (tables.length === 0 || tables.some((name) => name.startsWith('__agent_comm_'))) return
  const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length} tables)` : '')
  throw new StorageError(
    `The file ${sqlite.name} is another application's database (tables: ${shown}), not an agent-comm one; refusing to add agent-comm's tables to it`,
    {
      hint: "Check the path; to keep agent-comm's tables in this file anyway, open it with allowForeignTables: true.",
      details: { reason: FOREIGN_DATABASE, tables },
    },
  )
}

/**
 * The files (`<tag>.sql`, named by the journal of `folder`) of the migrations of `known` that `applied`
 * records under another hash: edited after they ran. Empty when none was. Every store's migrator refuses a
 * database for which this is not empty.
 */
export function editedMigrationFiles(
  folder: string,
  known: readonly { folderMillis: number; hash: string }[],
  applied: readonly { hash: string; createdAt: number | string }[],
): string[] {
  const appliedAt = new Map(applied.map((row) => [Number(row.createdAt), row.hash]))
  const edited = known.filter(
    (m) => appliedAt.has(m.folderMillis) && appliedAt.get(m.folderMillis) !== m.hash,
  )
  if (edited.length === 0) return []
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { when: number; tag: string }[]
  }
  const tags = new Map(journal.entries.map((entry) => [entry.when, entry.tag]))
  return edited.map((m) => `${tags.get(m.folderMillis) ?? m.folderMillis}.sql`)
}
