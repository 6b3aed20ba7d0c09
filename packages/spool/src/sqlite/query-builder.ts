import type BetterSqlite3 from 'better-sqlite3'
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3'
import * as inspect from './inspect.js'
import * as schema from './schema.js'

/** The spool's drizzle database. */
export type SpoolDatabase = BetterSQLite3Database<typeof schema>

/**
 * What the store's reports (status, threads, search, pending, dead letters, verify) run on: drizzle's query
 * builder over the connection, with the functions that use it. Loaded by the store on first use only:
 * under Node 24 loading drizzle costs a process 0.6–0.9 s and ~150 MiB (its `exports` map is read for
 * every one of its modules), which send, claim and ack — hand-written statements — never need.
 */
export function openQueryBuilder(sqlite: BetterSqlite3.Database) {
  return { db: drizzle({ client: sqlite, schema }), inspect }
}

/** What {@link openQueryBuilder} returns. */
export type QueryBuilder = ReturnType<typeof openQueryBuilder>
