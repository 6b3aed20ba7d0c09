/**
 * Whether a database setting (`AGENT_COMM_DB_PATH`, `--db`, `config.dbPath`) names a PostgreSQL server
 * rather than a SQLite file: a `postgres://` or `postgresql://` URL. A URL is never resolved as a path.
 */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database)
}

/**
 * The database setting, safe to print: a SQLite path as it is, a URL without its password (nor any
 * password query parameter). For messages written before the database is open; once open, print the
 * spool's `path` (its store's `location`), which is redacted the same way.
 */
export function describeDatabase(database: string): string {
  if (!isPostgresUrl(database)) return database
  try {
    const url = new URL(database)
    if (url.password !== '') url.password = ''
    for (const key of [...url.searchParams.keys()])
      if (/pass/i.test(key)) url.searchParams.set(key, 'redacted')
    return url.toString()
  } catch {
    // Not a URL we can parse: show nothing of it rather than risk a password.
    return 'the configured PostgreSQL server'
  }
}
