import type BetterSqlite3 from 'better-sqlite3'
import type { CleanupReport } from '../types.js'
import { lowerFullTextWatermark } from './full-text.js'

/**
 * Deletes messages past their TTL (longer ago than `expiredOlderThanMs`, 0 by default) and, when `ackedOlderThanMs` is given, messages every recipient acked
 * longer ago than that (unless still held for later recipients); deliveries go with them (foreign key cascade) and so do their full-text entries
 * (trigger, for messages already indexed). Counting and deleting happen in one write transaction, so the report is what was removed.
 */
export function cleanup(
  sqlite: BetterSqlite3.Database,
  options: {
    dryRun: boolean
    ackedOlderThanMs?: number | undefined
    expiredOlderThanMs?: number | undefined
    limit?: number | undefined
  },
  now: number,
): CleanupReport {
  const expired = 'expires_at <= @expiredCutoff'
  // A message still held is kept: agents that register later are yet to get it. Those counted as expired
  // are not counted again as acked.
  const acked = `expires_at > @expiredCutoff AND (held_until IS NULL OR held_until <= @now) AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_seq = messages.seq)
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_seq = messages.seq
      AND (d.status != 'acked' OR d.acked_at > @cutoff))`
  const params = {
    now,
    cutoff: options.ackedOlderThanMs === undefined ? 0 : now - options.ackedOlderThanMs,
    expiredCutoff: now - (options.expiredOlderThanMs ?? 0),
  }
  const wantAcked = options.ackedOlderThanMs !== undefined
  const matching = wantAcked ? `(${expired}) OR (${acked})` : expired
  // With a limit, the oldest `limit` of them: one bounded write transaction, so a large backlog removed in
  // several calls never holds the database's writers up for long.
  const where =
    options.limit === undefined
      ? matching
      : `seq IN (SELECT seq FROM messages WHERE ${matching} ORDER BY seq LIMIT ${options.limit})`
  return sqlite
    .transaction((): CleanupReport => {
      const count = (condition: string): number =>
        sqlite
          .prepare(`SELECT COUNT(*) FROM messages WHERE (${where}) AND (${condition})`)
          .pluck()
          .get(params) as number
      const report: CleanupReport = {
        dryRun: options.dryRun,
        expiredMessages: count(expired),
        ackedMessages: wantAcked ? count(acked) : 0,
        deliveries: sqlite
          .prepare(
            `SELECT COUNT(*) FROM deliveries WHERE message_seq IN (SELECT seq FROM messages WHERE ${where})`,
          )
          .pluck()
          .get(params) as number,
      }
      if (!options.dryRun) {
        // Keys past their window answer nothing any more: a send with one takes it over anyway.
        sqlite.prepare('DELETE FROM idempotency_keys WHERE expires_at <= @now').run({ now })
        // A key still in its window outlives its message: it moves aside (see `idempotencyKeys`), so a
        // retry after the cleanup is still the duplicate it is.
        sqlite
          .prepare(
            `INSERT INTO idempotency_keys (sender, key, message_id, created_at, expires_at)
              SELECT from_agent, idempotency_key, id, created_at, idempotency_expires_at FROM messages
              WHERE (${where}) AND idempotency_key IS NOT NULL AND idempotency_expires_at > @now
              ON CONFLICT (sender, key) DO UPDATE SET message_id = excluded.message_id,
                created_at = excluded.created_at, expires_at = excluded.expires_at`,
          )
          .run(params)
        sqlite.prepare(`DELETE FROM messages WHERE ${where}`).run(params)
        lowerFullTextWatermark(sqlite)
      }
      return report
    })
    .immediate()
}
