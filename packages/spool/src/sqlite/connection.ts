import { ValidationError } from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'
import type { Spool } from '../spool.js'
import { SqliteSpoolStore } from './store.js'

/**
 * The better-sqlite3 connection of a spool on SQLite, for packages that keep their own tables in the same
 * file (the registry, the relay's nonces): `Registry.open({ sqlite: sqliteConnection(spool) })`. Throws
 * `ValidationError` naming the store when the spool is on another store (e.g. PostgreSQL).
 */
export function sqliteConnection(spool: Spool): BetterSqlite3.Database {
  const { store } = spool
  if (store instanceof SqliteSpoolStore) return store.connection
  throw new ValidationError(
    `This spool is on the ${store.kind} store (${store.location}), not SQLite: it has no SQLite connection to share. Open the registry and other tables on that store, or open the spool with a SQLite path.`,
    [{ path: 'spool', message: `is on the ${store.kind} store, not SQLite` }],
  )
}

/** Whether the SQLite file holds the table `name`. */
export function hasTable(sqlite: BetterSqlite3.Database, name: string): boolean {
  return (
    sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
  )
}

/**
 * Whether a spool's SQLite file holds the table `name`, e.g. a relay's `a2a_tasks`: so a package can tell
 * whether another's tables are there before loading it, without running SQL on the connection itself.
 * Throws as {@link sqliteConnection} does for a spool on another store.
 */
export function sqliteHasTable(spool: Spool, name: string): boolean {
  return hasTable(sqliteConnection(spool), name)
}
