// The read behind assistants' inbox hooks (`agent-comm inbox AGENT --new`): the mail waiting for an agent
// unclaimed and due now and, with a cursor, only what a client was not shown yet. Both stores read it with
// the one statement built here (the CLI on a SQLite file, `readUnclaimedMail` of @agent-comm/postgres on a
// server), so the rule of what is new cannot differ between them. No imports: a hook loads this file alone.

/**
 * What a client was last shown: every delivery with `seq` at most `seq` that was due at `checkedAt` was
 * announced then or before. A delivery that becomes due later (a delayed message, a nacked retry, a held
 * message released to a newcomer) is new again even below `seq`.
 */
export interface MailCursor {
  seq: number
  checkedAt: number
}

/** The cursor of a client never shown anything: everything waiting is new. */
export const NO_CURSOR: MailCursor = { seq: 0, checkedAt: 0 }

/** Most deliveries one read returns (most urgent first): a hook shows a few hundred characters anyway. */
export const UNCLAIMED_MAIL_LIMIT = 200

/** One delivery waiting unclaimed, as {@link unclaimedMailSql} selects it. */
export interface UnclaimedMailRow {
  seq: number
  id: string
  from_agent: string
  subject: string
  /** 0 = critical … 3 = low. */
  priority: number
}

/** The parameters of {@link unclaimedMailSql}, by name. */
export type UnclaimedMailParam = 'recipient' | 'now' | 'seq' | 'checkedAt'

/**
 * The statement: deliveries of `recipient` that poll could claim at `now` (queued, due, not expired), as the
 * claim selects them, and new to the cursor (past its `seq`, or due since its `checkedAt`). `tables` are
 * the tables' names as the dialect writes them (schema-qualified on PostgreSQL); `param` writes a
 * parameter's placeholder (`@now` for better-sqlite3, `$2` for PostgreSQL).
 */
export function unclaimedMailSql(
  tables: { deliveries: string; messages: string },
  param: (name: UnclaimedMailParam) => string,
): string {
  return `SELECT m.seq, m.id, m.from_agent, m.subject, d.priority
  FROM ${tables.deliveries} d JOIN ${tables.messages} m ON m.seq = d.message_seq
 WHERE d.recipient = ${param('recipient')} AND d.status = 'queued'
   AND d.available_at <= ${param('now')} AND d.expires_at > ${param('now')}
   AND (m.seq > ${param('seq')} OR d.available_at > ${param('checkedAt')})
 ORDER BY d.priority, m.seq
 LIMIT ${UNCLAIMED_MAIL_LIMIT}`
}

/** The values of {@link unclaimedMailSql}'s parameters. */
export function unclaimedMailParams(
  recipient: string,
  now: number,
  cursor: MailCursor,
): Record<UnclaimedMailParam, string | number> {
  return { recipient, now, seq: cursor.seq, checkedAt: cursor.checkedAt }
}

/**
 * The cursor once `rows`, read at `now`, were shown; undefined when nothing was (the cursor stays where it
 * was: a delivery due before `now` but not visible yet must not be passed over).
 */
export function advanceCursor(
  cursor: MailCursor,
  rows: readonly UnclaimedMailRow[],
  now: number,
): MailCursor | undefined {
  if (rows.length === 0) return undefined
  return { seq: Math.max(cursor.seq, ...rows.map((row) => row.seq)), checkedAt: now }
}
