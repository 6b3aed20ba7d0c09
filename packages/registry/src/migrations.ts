import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { applyMigrations, type MigrateOptions, toStorageError } from '@agent-comm/spool'
import type BetterSqlite3 from 'better-sqlite3'

/** Folder of this package's drizzle-kit migrations (shipped beside `dist/`). */
export const REGISTRY_MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../drizzle')

/** Table that records which registry migrations a database has; separate from the spool's own. */
export const REGISTRY_MIGRATIONS_TABLE = '__agent_comm_registry_migrations'

/**
 * Brings the registry's tables on `sqlite` up to date. The spool's migrator runs the check and the apply
 * under `BEGIN IMMEDIATE`, so processes opening a fresh file at once queue instead of racing; the registry
 * keeps its own bookkeeping table, so the two migration sets never mistake each other for a newer version.
 */
export function migrateRegistry(
  sqlite: BetterSqlite3.Database,
  path: string,
  options: MigrateOptions = {},
): void {
  try {
    applyMigrations(
      sqlite,
      { folder: REGISTRY_MIGRATIONS_FOLDER, table: REGISTRY_MIGRATIONS_TABLE, name: 'registry' },
      options,
    )
  } catch (error) {
    throw toStorageError(error, path)
  }
}
