import type BetterSqlite3 from 'better-sqlite3'

/**
 * Brings the full-text index up to date: indexes every message stored since the last search.
 *
 * Indexing lazily keeps FTS5's per-commit segment writes off the send path; a search pays once for the
 * messages that arrived since the previous one. Runs under BEGIN IMMEDIATE so two processes never index
 * the same rows twice. Returns how many messages were indexed.
 */
export function catchUpFullTextIndex(sqlite: BetterSqlite3.Database): number {
  const watermark = `(SELECT value FROM spool_state WHERE key = 'fts_indexed_seq')`
  const pending = sqlite.prepare(`SELECT EXISTS (SELECT 1 FROM messages WHERE seq > ${watermark})`).pluck()
  if (pending.get() === 0) return 0
  return sqlite
    .transaction((): number => {
      const { changes } = sqlite
        .prepare(
          `INSERT INTO messages_fts (rowid, subject, body)
           SELECT seq, subject, body FROM messages WHERE seq > ${watermark} ORDER BY seq`,
        )
        .run()
      sqlite
        .prepare(
          `UPDATE spool_state SET value = (SELECT COALESCE(MAX(seq), 0) FROM messages) WHERE key = 'fts_indexed_seq'`,
        )
        .run()
      return changes
    })
    .immediate()
}

/**
 * Keeps the watermark honest after messages are deleted: SQLite may give a new message the `seq` of a
 * deleted one (a rowid above the remaining maximum), which must not count as already indexed.
 */
export function lowerFullTextWatermark(sqlite: BetterSqlite3.Database): void {
  sqlite
    .prepare(
      `UPDATE spool_state SET value = MIN(value, (SELECT COALESCE(MAX(seq), 0) FROM messages))
       WHERE key = 'fts_indexed_seq'`,
    )
    .run()
}
