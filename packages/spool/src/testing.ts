// For tests only (subpath `@agent-comm/spool/testing`): the handles a test needs to inject faults or watch
// a store's calls. Library code opens its tables through `spool.openShared` and never reaches for these.
import type BetterSqlite3 from 'better-sqlite3'
import { type Spool, storeOf } from './spool.js'
import type { SpoolStore } from './store.js'

/**
 * For tests only: the better-sqlite3 connection of a spool on SQLite, to inject faults (drop a table, lock
 * the file) or read rows as they are stored. Throws `ValidationError` as `spool.openShared` does for a spool
 * on another store.
 */
export function sqliteConnectionOf(spool: Spool): BetterSqlite3.Database {
  return spool.openShared({ name: 'the test', sqlite: (connection) => connection })
}

/** For tests only: the store a spool keeps its rows in, to spy on or stub its operations. */
export function spoolStoreOf(spool: Spool): SpoolStore {
  return storeOf(spool)
}
