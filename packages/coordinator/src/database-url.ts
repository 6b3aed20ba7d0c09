import { readFileSync } from 'node:fs'
// The zod-free subpaths of the protocol: the inbox hook reads AGENT_COMM_DB_PATH_FILE with this file alone
// (the entry `@agent-comm/coordinator/database-url`).
import { ConfigError } from '@agent-comm/protocol/errors'
import { redactUrl } from '@agent-comm/protocol/redact-url'

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

/**
 * The database setting kept in `file` (named by `AGENT_COMM_DB_PATH_FILE`): its text, trimmed — a SQLite
 * path or a PostgreSQL URL. A URL holding a password is kept in a file readable by its owner only (what
 * `agent-comm mcp install` and `hooks install` write), so it appears neither on a command line (`ps`) nor in
 * an assistant's configuration that may be committed. Throws `ConfigError` naming `source` and the file
 * when it cannot be read or is empty; never quotes the content.
 */
export function readDatabaseFile(file: string, source: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable'
    throw new ConfigError(`${source}: cannot read the database setting from ${file} (${code})`, {
      hint: `Check the file named by ${source}: it holds the database path or PostgreSQL URL, readable by this user.`,
      details: { variable: source, file, systemCode: code },
    })
  }
  const database = text.trim()
  if (database === '' || database.includes('\n')) {
    throw new ConfigError(`${source}: ${file} does not hold one database path or URL`, {
      hint: 'Write the database path or PostgreSQL URL into the file, on one line.',
      details: { variable: source, file },
    })
  }
  return database
}
