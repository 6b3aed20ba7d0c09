import type BetterSqlite3 from 'better-sqlite3'

/**
 * Brings the full-text index up to date: indexes every message stored since the last search.
 *
 * Indexing lazily keeps FTS5's per-commit segment writes off the send path; a search pays once for the
 * messages that arrived since the previous one. Runs under BEGIN IMMEDIATE so two processes never index
 * the same rows twice. Returns how many messages were indexed.
 */
export function catchUpFullTextIndex(sqlite: BetterSqlite3.Database): number {
  if (sqlite.readonly) return indexUnindexedPrivately(sqlite)
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

/**
 * The connection-private full-text index of the messages the shared index does not hold yet, used on a
 * read-only connection (which may not write the shared one): a TEMP table, writable on any connection,
 * with the shared index's tokenizer, so a search matches exactly what it would once the shared index
 * catches up. Searches then match in both (see `search`).
 */
export const UNINDEXED_FTS_TABLE = 'messages_fts_unindexed'

/** Rebuilds {@link UNINDEXED_FTS_TABLE} from the messages above the shared index's watermark. */
function indexUnindexedPrivately(sqlite: BetterSqlite3.Database): number {
  sqlite.exec(`DROP TABLE IF EXISTS temp.${UNINDEXED_FTS_TABLE}`)
  // Same tokenizer as messages_fts (migration 0001); contentful, as the temp schema cannot see `messages`.
  sqlite.exec(
    `CREATE VIRTUAL TABLE temp.${UNINDEXED_FTS_TABLE} USING fts5(subject, body, tokenize='unicode61 remove_diacritics 2')`,
  )
  return sqlite
    .prepare(
      `INSERT INTO temp.${UNINDEXED_FTS_TABLE} (rowid, subject, body)
       SELECT seq, subject, body FROM messages
       WHERE seq > (SELECT value FROM spool_state WHERE key = 'fts_indexed_seq')`,
    )
    .run().changes
}
