// The read behind assistants' inbox hooks (`agent-comm inbox AGENT --new`): the mail waiting for an agent
// unclaimed and due now and, with a cursor, only what a client was not shown yet. Both stores read it with
// the one statement built here (the CLI on a SQLite file, `readUnclaimedMail` of @agent-comm/postgres on a
// server), so the rule of what is new cannot differ between them. No imports: a hook loads this file alone.

/**
 * How long after a message was created its send may still commit and be announced (60 s). On PostgreSQL a
 * send draws its seq when it starts and becomes visible when it commits, so a send that drew a lower seq
 * can commit after a read already showed (and moved the cursor past) a higher one. A read therefore also
 * looks again at mail created within this window before the cursor's last check, skipping what the
 * cursor remembers having shown. A send still uncommitted this long after it started (by its writer's
 * clock) can be missed by the hooks; poll still claims it.
 */
export const LATE_COMMIT_WINDOW_MS = 60_000

/** Most seqs a cursor remembers: past it the oldest are forgotten (and may be announced once more). */
export const MAX_RECENT = 400

/** A message a client was shown, and when it was created (ms, by its writer's clock). */
export interface ShownMail {
  seq: number
  createdAt: number
}

/**
 * What a client was last shown: every delivery with `seq` at most `seq` that was due and visible at
 * `checkedAt` was announced then or before. A delivery that becomes due later (a delayed message, a nacked
 * retry, a held message released to a newcomer) is new again even below `seq`, and so is one whose message
 * was created within {@link LATE_COMMIT_WINDOW_MS} before `checkedAt` unless `recent` names it (a send that
 * committed late). `recent`: the mail shown created within that window (none when absent: that mail is
 * shown again, a repeat rather than a loss).
 */
export interface MailCursor {
  seq: number
  checkedAt: number
  recent?: readonly ShownMail[] | undefined
}

/** The cursor of a client never shown anything: everything waiting is new. */
export const NO_CURSOR: MailCursor = { seq: 0, checkedAt: 0, recent: [] }

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
  /** When the message was created (ms): whether the cursor must remember it (see {@link advanceCursor}). */
  created_at: number
}

/** The parameters of {@link unclaimedMailSql}, by name, in the order of PostgreSQL's `$1`, `$2`… */
export const UNCLAIMED_MAIL_PARAMS = ['recipient', 'now', 'seq', 'checkedAt', 'windowStart', 'shown'] as const

/** The parameters of {@link unclaimedMailSql}, by name. */
export type UnclaimedMailParam = (typeof UNCLAIMED_MAIL_PARAMS)[number]

/**
 * The statement: deliveries of `recipient` that poll could claim at `now` (queued, due, not expired), as the
 * claim selects them, and new to the cursor (past its `seq`, due since its `checkedAt`, or created within
 * the late-commit window and not among those it remembers, `shown` being their seqs as `,1,5,`: one text
 * parameter and LIKE read the same on both dialects). `tables` are the tables' names as the dialect writes
 * them (schema-qualified on PostgreSQL); `param` writes a parameter's placeholder (`@now` for
 * better-sqlite3, `$2` for PostgreSQL).
 */
export function unclaimedMailSql(
  tables: { deliveries: string; messages: string },
  param: (name: UnclaimedMailParam) => string,
): string {
  return `SELECT m.seq, m.id, m.from_agent, m.subject, d.priority, m.created_at
  FROM ${tables.deliveries} d JOIN ${tables.messages} m ON m.seq = d.message_seq
 WHERE d.recipient = ${param('recipient')} AND d.status = 'queued'
   AND d.available_at <= ${param('now')} AND d.expires_at > ${param('now')}
   AND (m.seq > ${param('seq')} OR d.available_at > ${param('checkedAt')}
     OR (m.created_at > ${param('windowStart')} AND ${param('shown')} NOT LIKE ('%,' || m.seq || ',%')))
 ORDER BY d.priority, m.seq
 LIMIT ${UNCLAIMED_MAIL_LIMIT}`
}

/** The values of {@link unclaimedMailSql}'s parameters. */
export function unclaimedMailParams(
  recipient: string,
  now: number,
  cursor: MailCursor,
): Record<UnclaimedMailParam, string | number> {
  return {
    recipient,
    now,
    seq: cursor.seq,
    checkedAt: cursor.checkedAt,
    windowStart: cursor.checkedAt - LATE_COMMIT_WINDOW_MS,
    shown: `,${(cursor.recent ?? []).map((mail) => mail.seq).join(',')},`,
  }
}

/**
 * The cursor once `rows`, read at `now`, were shown; undefined when nothing was (the cursor stays where it
 * was: a delivery due before `now` but not visible yet must not be passed over). It remembers what it
 * showed of the mail created within the late-commit window before `now` (the next read looks at that mail
 * again), forgets the rest, and keeps at most {@link MAX_RECENT}, the newest.
 */
export function advanceCursor(
  cursor: MailCursor,
  rows: readonly UnclaimedMailRow[],
  now: number,
): MailCursor | undefined {
  if (rows.length === 0) return undefined
  const recent = new Map<number, number>()
  const shown = [
    ...(cursor.recent ?? []),
    ...rows.map((row) => ({ seq: row.seq, createdAt: row.created_at })),
  ]
  for (const mail of shown) {
    if (mail.createdAt > now - LATE_COMMIT_WINDOW_MS) recent.set(mail.seq, mail.createdAt)
  }
  return {
    seq: Math.max(cursor.seq, ...rows.map((row) => row.seq)),
    checkedAt: now,
    recent: [...recent]
      .map(([seq, createdAt]) => ({ seq, createdAt }))
      .sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq)
      .slice(0, MAX_RECENT)
      .sort((a, b) => a.seq - b.seq),
  }
}
