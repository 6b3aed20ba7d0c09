import type { DeliveryStatus, MessageV2 } from '@agent-comm/protocol'
import { errorMessage } from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'
import {
  and,
  asc,
  count,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  or,
  type SQL,
  sql,
} from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { deliveryFromRow, storedMessageFromRow } from '../rows.js'
import type { ConversationParams, ConversationsParams } from '../store.js'
import { type ConversationRow, conversationSummaryFromRow, statsFromCounts } from '../summaries.js'
import type {
  ConversationSummary,
  FailedDelivery,
  MessageDelivery,
  MessageStatus,
  PendingDelivery,
  SpoolStats,
  VerifyReport,
} from '../types.js'
import { UNINDEXED_FTS_TABLE } from './full-text.js'
import type * as schema from './schema.js'
import { deliveries, messages } from './schema.js'

type Db = BetterSQLite3Database<typeof schema>

/** A message and its deliveries, or undefined when the id is unknown. */
export function status(db: Db, messageId: string, now: number): MessageStatus | undefined {
  const message = db.select().from(messages).where(eq(messages.id, messageId)).get()
  if (message === undefined) return undefined
  const rows = db
    .select()
    .from(deliveries)
    .where(eq(deliveries.messageSeq, message.seq))
    .orderBy(asc(deliveries.id))
    .all()
  return {
    ...storedMessageFromRow(message),
    deliveries: rows.map((row) => deliveryFromRow(row, now)),
    ...(message.heldUntil !== null && message.heldUntil > now
      ? { heldUntil: new Date(message.heldUntil).toISOString() }
      : {}),
  }
}

/**
 * Whether `messages` row `m` is one `agent` may see: it sent it, it was addressed to it, or it has a
 * delivery of it (a broadcast or capability message names no recipient; its deliveries say who got it).
 * The delivery check is one probe of the unique (message_seq, recipient) index per message.
 */
const VISIBLE_TO = `(m.from_agent = @visibleTo OR m.to_agent = @visibleTo
  OR EXISTS (SELECT 1 FROM deliveries d WHERE d.message_seq = m.seq AND d.recipient = @visibleTo))`

/**
 * Messages of one conversation in the order they were sent, with `visibleTo` only those that agent may see.
 * A stored JSON column that cannot be read is left out of its message; `status` of that message names it.
 */
export function conversation(db: Db, params: ConversationParams): MessageV2[] {
  const { conversationId, visibleTo } = params
  const visible =
    visibleTo === undefined
      ? undefined
      : or(
          eq(messages.fromAgent, visibleTo),
          eq(messages.toAgent, visibleTo),
          sql`EXISTS (SELECT 1 FROM ${deliveries} WHERE ${deliveries.messageSeq} = ${messages.seq} AND ${deliveries.recipient} = ${visibleTo})`,
        )
  return db
    .select()
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), visible))
    .orderBy(asc(messages.seq))
    .all()
    .map((row) => storedMessageFromRow(row).message)
}

/**
 * Threads with participants, counts and last activity, most recent first. Everything is computed over the
 * `visible` rows: all messages, or with `visibleTo` only those that agent may see, so a thread's summary
 * never reveals a message its reader could not list.
 */
export function conversations(
  sqlite: BetterSqlite3.Database,
  options: ConversationsParams,
): ConversationSummary[] {
  // The spool bounded the limit (1..MAX_LIST_LIMIT) before the store was called.
  const limit = options.limit
  const rows = sqlite
    .prepare(
      // NOT MATERIALIZED: without `visibleTo` the CTE is the table itself and must keep using its indexes.
      `WITH visible AS NOT MATERIALIZED (SELECT m.seq, m.conversation_id, m.from_agent, m.to_agent, m.subject,
           m.created_at FROM messages m WHERE @visibleTo IS NULL OR ${VISIBLE_TO})
       SELECT conversation_id AS conversationId, COUNT(*) AS messageCount, MIN(created_at) AS firstAt,
         MAX(created_at) AS lastAt, json_group_array(DISTINCT from_agent) AS senders,
         json_group_array(DISTINCT to_agent) AS receivers,
         (SELECT subject FROM visible f WHERE f.conversation_id = v.conversation_id ORDER BY seq LIMIT 1) AS subject
       FROM visible v
       WHERE @agent IS NULL OR conversation_id IN
         (SELECT conversation_id FROM visible WHERE from_agent = @agent OR to_agent = @agent)
       GROUP BY conversation_id ORDER BY MAX(seq) DESC LIMIT @limit`,
    )
    .all({ agent: options.agent ?? null, visibleTo: options.visibleTo ?? null, limit }) as ConversationRow[]
  return rows.map(conversationSummaryFromRow)
}

/** Turns free text into an FTS5 query that matches every word, so user input is never FTS syntax. */
export function toFtsQuery(text: string): string | null {
  const words = text.match(/[\p{L}\p{N}_]+/gu)
  if (words === null) return null
  return words.map((w) => `"${w}"*`).join(' ')
}

/** Messages matching every filter, newest first; an unreadable JSON column is left out, as in `conversation`. */
export function search(
  db: Db,
  query: {
    text?: string
    from?: string
    to?: string
    conversationId?: string
    since?: number | Date | string
    limit: number
  },
  /** True on a read-only connection: the messages not yet in the shared index are in {@link UNINDEXED_FTS_TABLE}. */
  unindexedTable = false,
): MessageV2[] {
  const filters = []
  if (query.text !== undefined) {
    const fts = toFtsQuery(query.text)
    if (fts === null) return []
    const indexed = sql`${messages.seq} IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ${fts})`
    filters.push(
      unindexedTable
        ? or(
            indexed,
            sql`${messages.seq} IN (SELECT rowid FROM temp.${sql.raw(UNINDEXED_FTS_TABLE)} WHERE ${sql.raw(UNINDEXED_FTS_TABLE)} MATCH ${fts})`,
          )!
        : indexed,
    )
  }
  if (query.from !== undefined) filters.push(eq(messages.fromAgent, query.from))
  if (query.to !== undefined) {
    filters.push(
      or(
        eq(messages.toAgent, query.to),
        sql`${messages.seq} IN (SELECT message_seq FROM deliveries WHERE recipient = ${query.to})`,
      ),
    )
  }
  if (query.conversationId !== undefined) filters.push(eq(messages.conversationId, query.conversationId))
  if (query.since !== undefined) {
    const since =
      query.since instanceof Date
        ? query.since.getTime()
        : typeof query.since === 'string'
          ? Date.parse(query.since)
          : query.since
    filters.push(gte(messages.createdAt, since))
  }
  return db
    .select()
    .from(messages)
    .where(and(...filters))
    .orderBy(desc(messages.seq))
    .limit(query.limit)
    .all()
    .map((row) => storedMessageFromRow(row).message)
}

/** Spool-wide figures. Live deliveries past their TTL count as `expired`. */
export function stats(sqlite: BetterSqlite3.Database, now: number): SpoolStats {
  const byStatus = sqlite
    .prepare(
      `SELECT CASE WHEN status IN ('queued', 'leased') AND expires_at <= ? THEN 'expired' ELSE status END AS status,
         COUNT(*) AS count FROM deliveries GROUP BY 1`,
    )
    .all(now) as { status: DeliveryStatus; count: number }[]
  const ages = sqlite
    .prepare(
      `SELECT
         (SELECT MIN(created_at) FROM deliveries WHERE status = 'queued' AND expires_at > @now AND available_at <= @now) AS oldestQueuedAt,
         (SELECT MIN(updated_at) FROM deliveries WHERE status = 'leased' AND expires_at > @now) AS oldestLeaseAt,
         (SELECT COUNT(*) FROM messages) AS totalMessages`,
    )
    .get({ now }) as { oldestQueuedAt: number | null; oldestLeaseAt: number | null; totalMessages: number }
  const perAgent = sqlite
    .prepare(
      `SELECT recipient, status, COUNT(*) AS count FROM deliveries
       WHERE status IN ('queued', 'leased', 'failed') AND (status = 'failed' OR expires_at > ?)
       GROUP BY recipient, status ORDER BY recipient`,
    )
    .all(now) as { recipient: string; status: 'queued' | 'leased' | 'failed'; count: number }[]
  return statsFromCounts({ byStatus, perAgent, ...ages }, now)
}

/** Deliveries matching `where`, each with its message, in `order`, at most `limit`. */
function messageDeliveries(
  db: Db,
  where: SQL | undefined,
  order: SQL[],
  limit: number,
  now: number,
): MessageDelivery[] {
  const rows = db
    .select()
    .from(deliveries)
    .innerJoin(messages, eq(messages.seq, deliveries.messageSeq))
    .where(where)
    .orderBy(...order)
    .limit(limit)
    .all()
  return rows.map((row) => {
    const { message, unreadable } = storedMessageFromRow(row.messages)
    const delivery = deliveryFromRow(row.deliveries, now)
    return unreadable === undefined ? { message, delivery } : { message, delivery, unreadable }
  })
}

/** Dead-lettered deliveries with their messages, most recently failed first. */
export function listFailed(
  db: Db,
  options: { agent?: string; limit: number },
  now: number,
): FailedDelivery[] {
  // The spool bounded the limit (1..MAX_LIST_LIMIT) before the store was called.
  const { limit } = options
  const where = and(
    eq(deliveries.status, 'failed'),
    // A withdrawn delivery (settled by its sender) is no dead letter.
    isNull(deliveries.ackedAt),
    options.agent === undefined ? undefined : eq(deliveries.recipient, options.agent),
  )
  return messageDeliveries(db, where, [desc(deliveries.updatedAt), desc(deliveries.id)], limit, now)
}

/**
 * The deliveries of `agent` still to be done — queued (due or delayed) or leased — of messages that have not
 * expired, in the order claims hand them out: most urgent first, then oldest.
 */
export function listPending(
  db: Db,
  agent: string,
  limit: number,
  now: number,
  newestFirst = false,
): PendingDelivery[] {
  const where = and(
    eq(deliveries.recipient, agent),
    inArray(deliveries.status, ['queued', 'leased']),
    gt(deliveries.expiresAt, now),
  )
  const order = [asc(deliveries.priority), newestFirst ? desc(deliveries.id) : asc(deliveries.id)]
  return messageDeliveries(db, where, order, limit, now)
}

/** Requeues failed deliveries of a message with fresh attempts; returns how many. */
export function retryFailed(db: Db, messageId: string, agent: string | undefined, now: number): number {
  return db
    .update(deliveries)
    .set({ status: 'queued', attempt: 0, availableAt: now, updatedAt: now, leaseUntil: null, receipt: null })
    .where(failedOf(messageId, agent, { withdrawn: false }))
    .run().changes
}

/** How many failed deliveries of a message (to `agent`, or any) were withdrawn by their sender. */
export function countWithdrawn(db: Db, messageId: string, agent: string | undefined): number {
  return db
    .select({ n: count() })
    .from(deliveries)
    .where(failedOf(messageId, agent, { withdrawn: true }))
    .get()!.n
}

/**
 * The failed deliveries of a message (to `agent`, or any): dead letters, or those withdrawn by their
 * sender (`acked_at` set: settled).
 */
function failedOf(messageId: string, agent: string | undefined, options: { withdrawn: boolean }) {
  return and(
    eq(deliveries.messageSeq, sql`(SELECT seq FROM messages WHERE id = ${messageId})`),
    eq(deliveries.status, 'failed'),
    options.withdrawn ? isNotNull(deliveries.ackedAt) : isNull(deliveries.ackedAt),
    agent === undefined ? undefined : eq(deliveries.recipient, agent),
  )
}

/** Runs FTS5's integrity-check of the (caught-up) full-text index, adding what it finds to `problems`. */
function verifyFullTextIndex(sqlite: BetterSqlite3.Database, problems: string[]): void {
  try {
    sqlite.prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`).run()
  } catch (error) {
    problems.push(`full-text index: ${errorMessage(error)}`)
  }
}

/**
 * SQLite's own integrity check, the foreign keys, the full-text index, and the spool's invariants.
 * `skipFullText` names why the full-text index's check cannot run (it is a write), e.g. a full disk.
 */
export function verify(sqlite: BetterSqlite3.Database, skipFullText?: string): VerifyReport {
  const problems: string[] = []
  const checks: string[] = []
  const integrity = sqlite.pragma('integrity_check') as { integrity_check: string }[]
  checks.push('PRAGMA integrity_check')
  for (const row of integrity)
    if (row.integrity_check !== 'ok') problems.push(`integrity_check: ${row.integrity_check}`)
  checks.push('PRAGMA foreign_key_check')
  const orphans = sqlite.pragma('foreign_key_check') as unknown[]
  if (orphans.length > 0) problems.push(`${orphans.length} rows reference a missing message`)
  if (sqlite.readonly) {
    // FTS5's integrity-check is an INSERT, which a read-only connection refuses.
    checks.push('full-text index integrity-check: skipped (read-only database)')
  } else if (skipFullText !== undefined) {
    checks.push(`full-text index integrity-check: skipped (${skipFullText})`)
  } else {
    checks.push('full-text index integrity-check')
    verifyFullTextIndex(sqlite, problems)
  }
  const invariants: [string, string][] = [
    [
      'leased deliveries have a lease expiry and a receipt',
      "status = 'leased' AND (lease_until IS NULL OR receipt IS NULL)",
    ],
    ['only leased deliveries hold a lease', "status != 'leased' AND lease_until IS NOT NULL"],
    ['acked deliveries have an ack time', "status = 'acked' AND acked_at IS NULL"],
    ['no delivery used more attempts than allowed', 'attempt > max_attempts'],
    ['every delivery has a known status', "status NOT IN ('queued', 'leased', 'acked', 'failed', 'expired')"],
  ]
  for (const [name, where] of invariants) {
    checks.push(name)
    const n = sqlite.prepare(`SELECT COUNT(*) FROM deliveries WHERE ${where}`).pluck().get() as number
    if (n > 0) problems.push(`${name}: ${n} deliveries break it`)
  }
  return { ok: problems.length === 0, problems, checks }
}
