import { redactUrl } from '@agent-comm/protocol'

/**
 * Whether a database setting (`AGENT_COMM_DB_PATH`, `--db`, `config.dbPath`) names a PostgreSQL server
 * rather than a SQLite file: a `postgres://` or `postgresql://` URL. A URL is never resolved as a path.
 */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database)
}

/**
 * The database setting, safe to print: a SQLite path as it is, a URL without its password (nor any
 * password query parameter), by the protocol's one rule (`redactUrl`). For messages written before the database is open; once open, print the
 * spool's `path` (its store's `location`), which is redacted the same way.
 */
export function describeDatabase(database: string): string {
  return isPostgresUrl(database) ? redactUrl(database) : database
}
