import type { DeliveryStatus, MessageV2 } from '@agent-comm/protocol'
import type {
  CleanupReport,
  ConversationSummary,
  MessageDelivery,
  MessageRecord,
  MessageStatus,
  SpoolStats,
  StoreSearchParams,
  VerifyReport,
} from '@agent-comm/spool'
import {
  type ConversationRow,
  conversationSummaryFromRow,
  type DeliveryRecord,
  deliveryFromRow,
  statsFromCounts,
  storedMessageFromRow,
} from '@agent-comm/spool/store'
import type { SqlQueryable } from './client.js'
import type { Row } from './rows.js'
import { SEARCH_DOCUMENT } from './schema.js'
import { SqlParams } from './sql-params.js'
import { DELIVERY_COLUMNS, MESSAGE_COLUMNS } from './statements.js'

/**
 * The read side of the PostgreSQL store: the same answers as the SQLite store's `inspect.ts` for the same
 * rows (ordering, expiry, unreadable columns), written for PostgreSQL.
 */
export class Inspector {
  readonly #messages: string
  readonly #deliveries: string
  readonly #documents: string
  readonly #pending: string

  constructor(schema: string) {
    this.#messages = `"${schema}".messages`
    this.#deliveries = `"${schema}".deliveries`
    this.#documents = `"${schema}".search_documents`
    this.#pending = `"${schema}".search_pending`
  }

  /**
   * Indexes the messages sent since the last pass (see `searchPending` in schema.ts), in one statement:
   * takes every pending range and writes the documents of the messages in them, atomically, so a search
   * sees each message either pending or indexed. Concurrent passes take distinct ranges (the DELETE locks
   * them); a message in two ranges is indexed once. Returns how many messages it indexed.
   */
  async indexPending(db: SqlQueryable): Promise<number> {
    const [row] = await db.query<{ n: number }>(
      `WITH taken AS (
         DELETE FROM ${this.#pending} RETURNING lo, hi
       ), indexed AS (
         INSERT INTO ${this.#documents} (message_seq, document)
         SELECT DISTINCT ON (m.seq) m.seq, ${SEARCH_DOCUMENT}
         FROM taken t JOIN ${this.#messages} m ON m.seq BETWEEN t.lo AND t.hi
         ORDER BY m.seq
         ON CONFLICT (message_seq) DO NOTHING RETURNING 1
       )
       SELECT count(*)::int AS n FROM indexed`,
    )
    return row!.n
  }

  /** A message and its deliveries, or undefined. */
  async status(db: SqlQueryable, messageId: string, now: number): Promise<MessageStatus | undefined> {
    const [message] = await db.query<Row<MessageRecord & { heldUntil: number | null }>>(
      `SELECT ${MESSAGE_COLUMNS}, m.held_until AS "heldUntil" FROM ${this.#messages} m WHERE m.id = $1`,
      [messageId],
    )
    if (message === undefined) return undefined
    const rows = await db.query<Row<DeliveryRecord>>(
      `SELECT ${DELIVERY_COLUMNS} FROM ${this.#deliveries} d WHERE d.message_seq = $1 ORDER BY d.id`,
      [message.seq],
    )
    return {
      ...storedMessageFromRow(message),
      deliveries: rows.map((row) => deliveryFromRow(row, now)),
      ...(message.heldUntil !== null && message.heldUntil > now
        ? { heldUntil: new Date(message.heldUntil).toISOString() }
        : {}),
    }
  }

  /**
   * Which messages `visibleTo` (parameter `$n`) may see: those it sent, was addressed, or has a delivery of
   * (a broadcast or capability message that reached it). Null: every message.
   */
  #visible(n: number): string {
    return `($${n}::text IS NULL OR m.from_agent = $${n}::text OR m.to_agent = $${n}::text
      OR EXISTS (SELECT 1 FROM ${this.#deliveries} d WHERE d.message_seq = m.seq AND d.recipient = $${n}::text))`
  }

  /** Messages of one conversation in the order they were sent (only those `visibleTo` may see, if given). */
  async conversation(db: SqlQueryable, conversationId: string, visibleTo?: string): Promise<MessageV2[]> {
    const rows = await db.query<Row<MessageRecord>>(
      `SELECT ${MESSAGE_COLUMNS} FROM ${this.#messages} m WHERE m.conversation_id = $1 AND ${this.#visible(2)}
       ORDER BY m.seq`,
      [conversationId, visibleTo ?? null],
    )
    return rows.map((row) => storedMessageFromRow(row).message)
  }

  /**
   * Threads with participants, counts and last activity, most recent first. With `visibleTo`, only the
   * messages that agent may see count (subject, participants, count and times over those alone).
   */
  async conversations(
    db: SqlQueryable,
    options: { limit: number; agent?: string; visibleTo?: string },
  ): Promise<ConversationSummary[]> {
    const rows = await db.query<ConversationRow>(
      // Sender and addressee lists as JSON text: every driver returns text alike, whatever it does with arrays.
      `WITH visible AS NOT MATERIALIZED (
         SELECT m.seq, m.conversation_id, m.from_agent, m.to_agent, m.subject, m.created_at
         FROM ${this.#messages} m WHERE ${this.#visible(3)})
       SELECT v.conversation_id AS "conversationId", count(*)::int AS "messageCount",
         min(v.created_at) AS "firstAt", max(v.created_at) AS "lastAt",
         json_agg(DISTINCT v.from_agent)::text AS "senders", json_agg(DISTINCT v.to_agent)::text AS "receivers",
         (SELECT f.subject FROM visible f WHERE f.conversation_id = v.conversation_id
           ORDER BY f.seq LIMIT 1) AS "subject"
       FROM visible v
       WHERE $1::text IS NULL OR v.conversation_id IN
         (SELECT conversation_id FROM visible WHERE from_agent = $1::text OR to_agent = $1::text)
       GROUP BY v.conversation_id ORDER BY max(v.seq) DESC LIMIT $2`,
      [options.agent ?? null, options.limit, options.visibleTo ?? null],
    )
    return rows.map(conversationSummaryFromRow)
  }

  /**
   * Messages matching every filter, newest first. The text is split into words the way the SQLite store
   * splits it (letters, digits, `_`), and each word becomes a quoted prefix lexeme (`'word':*`) ANDed with
   * the others: the words can hold no quote, backslash or operator, so user text is never tsquery syntax.
   */
  async search(db: SqlQueryable, query: StoreSearchParams): Promise<MessageV2[]> {
    const filters: string[] = []
    const params = new SqlParams()
    if (query.text !== undefined) {
      const words = query.text.match(/[\p{L}\p{N}_]+/gu)
      if (words === null) return []
      const tsquery = `to_tsquery('simple', ${params.add(words.map((word) => `'${word}':*`).join(' & '))}::text)`
      // Indexed messages through the GIN index, and those no index pass has reached yet (the store runs
      // one first, but a role that may only read cannot, and sends keep arriving) by computing their
      // document on the spot: every message sent is found either way.
      filters.push(`m.seq IN (
        SELECT message_seq FROM ${this.#documents} WHERE document @@ ${tsquery}
        UNION ALL
        SELECT m.seq FROM ${this.#pending} p JOIN ${this.#messages} m ON m.seq BETWEEN p.lo AND p.hi
        WHERE ${SEARCH_DOCUMENT} @@ ${tsquery})`)
    }
    if (query.from !== undefined) filters.push(`m.from_agent = ${params.add(query.from)}::text`)
    if (query.to !== undefined) {
      const to = params.add(query.to)
      filters.push(
        `(m.to_agent = ${to}::text OR m.seq IN (SELECT message_seq FROM ${this.#deliveries} WHERE recipient = ${to}::text))`,
      )
    }
    if (query.conversationId !== undefined)
      filters.push(`m.conversation_id = ${params.add(query.conversationId)}::text`)
    if (query.since !== undefined) filters.push(`m.created_at >= ${params.add(query.since)}::bigint`)
    const rows = await db.query<Row<MessageRecord>>(
      `SELECT ${MESSAGE_COLUMNS} FROM ${this.#messages} m
       ${filters.length === 0 ? '' : `WHERE ${filters.join(' AND ')}`}
       ORDER BY m.seq DESC LIMIT ${params.add(query.limit)}`,
      params.values,
    )
    return rows.map((row) => storedMessageFromRow(row).message)
  }

  /** Spool-wide figures. Live deliveries past their TTL count as `expired`. */
  async stats(db: SqlQueryable, now: number): Promise<SpoolStats> {
    const byStatus = await db.query<{ status: DeliveryStatus; count: number }>(
      `SELECT CASE WHEN status IN ('queued', 'leased') AND expires_at <= $1 THEN 'expired' ELSE status END AS status,
         count(*)::int AS count FROM ${this.#deliveries} GROUP BY 1`,
      [now],
    )
    const [ages] = await db.query<{
      oldestQueuedAt: number | null
      oldestLeaseAt: number | null
      totalMessages: number
    }>(
      `SELECT
         (SELECT min(created_at) FROM ${this.#deliveries} WHERE status = 'queued' AND expires_at > $1 AND available_at <= $1) AS "oldestQueuedAt",
         (SELECT min(updated_at) FROM ${this.#deliveries} WHERE status = 'leased' AND expires_at > $1) AS "oldestLeaseAt",
         (SELECT count(*)::int FROM ${this.#messages}) AS "totalMessages"`,
      [now],
    )
    const perAgent = await db.query<{
      recipient: string
      status: 'queued' | 'leased' | 'failed'
      count: number
    }>(
      `SELECT recipient, status, count(*)::int AS count FROM ${this.#deliveries}
       WHERE status IN ('queued', 'leased', 'failed') AND (status = 'failed' OR expires_at > $1)
       GROUP BY recipient, status ORDER BY recipient COLLATE "C"`,
      [now],
    )
    return statsFromCounts({ byStatus, perAgent, ...ages! }, now)
  }

  /**
   * The deliveries of `recipient` still to be done (queued, delayed or leased, not expired), in claim order
   * (most urgent, then oldest) or, with `newestFirst`, most urgent, then newest.
   */
  pending(
    db: SqlQueryable,
    recipient: string,
    limit: number,
    now: number,
    newestFirst = false,
  ): Promise<MessageDelivery[]> {
    return this.#messageDeliveries(
      db,
      `d.recipient = $1 AND d.status IN ('queued', 'leased') AND d.expires_at > $2`,
      newestFirst ? 'd.priority, d.id DESC' : 'd.priority, d.id',
      [recipient, now],
      limit,
      now,
    )
  }

  /** Dead-lettered deliveries with their messages, most recently failed first. */
  listFailed(
    db: SqlQueryable,
    agent: string | undefined,
    limit: number,
    now: number,
  ): Promise<MessageDelivery[]> {
    return this.#messageDeliveries(
      db,
      // A withdrawn delivery (settled by its sender: acked_at set) is no dead letter.
      `d.status = 'failed' AND d.acked_at IS NULL AND ($1::text IS NULL OR d.recipient = $1::text)`,
      'd.updated_at DESC, d.id DESC',
      [agent ?? null],
      limit,
      now,
    )
  }

  async #messageDeliveries(
    db: SqlQueryable,
    where: string,
    order: string,
    params: unknown[],
    limit: number,
    now: number,
  ): Promise<MessageDelivery[]> {
    const rows = await db.query<
      Row<MessageRecord & DeliveryRecord & { dCreatedAt: number; dExpiresAt: number }>
    >(
      `SELECT ${MESSAGE_COLUMNS}, d.recipient AS "recipient", d.status AS "status", d.attempt AS "attempt",
         d.max_attempts AS "maxAttempts", d.available_at AS "availableAt", d.lease_until AS "leaseUntil",
         d.expires_at AS "dExpiresAt", d.last_error AS "lastError", d.created_at AS "dCreatedAt",
         d.updated_at AS "updatedAt", d.acked_at AS "ackedAt"
       FROM ${this.#deliveries} d JOIN ${this.#messages} m ON m.seq = d.message_seq
       WHERE ${where} ORDER BY ${order} LIMIT $${params.length + 1}`,
      [...params, limit],
    )
    return rows.map((row) => {
      const { message, unreadable } = storedMessageFromRow(row)
      const delivery = deliveryFromRow({ ...row, createdAt: row.dCreatedAt, expiresAt: row.dExpiresAt }, now)
      return unreadable === undefined ? { message, delivery } : { message, delivery, unreadable }
    })
  }

  /** PostgreSQL's view of the schema (tables, valid indexes), orphan deliveries and the spool's invariants. */
  async verify(db: SqlQueryable, schema: string): Promise<VerifyReport> {
    const problems: string[] = []
    const checks: string[] = []
    checks.push('tables messages and deliveries exist')
    const [tables] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename IN ('messages', 'deliveries')`,
      [schema],
    )
    if (tables!.n !== 2) {
      problems.push(`the schema '${schema}' lacks the spool's tables`)
      return { ok: false, problems, checks }
    }
    checks.push('every index is valid and ready (none left broken by a failed CREATE INDEX CONCURRENTLY)')
    const invalid = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND NOT (i.indisvalid AND i.indisready)`,
      [schema],
    )
    for (const row of invalid) problems.push(`index ${row.name} is invalid: REINDEX it`)
    checks.push('the full-text index exists')
    const [search] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND indexname = 'search_documents_idx'`,
      [schema],
    )
    if (search!.n === 0) problems.push('the full-text index search_documents_idx is missing')
    // No foreign key enforces this (see `deliveries` in schema.ts): the writes keep it, and this checks it.
    checks.push('every delivery references a stored message (no orphan deliveries)')
    const [orphans] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.#deliveries} d
       WHERE NOT EXISTS (SELECT 1 FROM ${this.#messages} m WHERE m.seq = d.message_seq)`,
    )
    if (orphans!.n > 0)
      problems.push(
        `${orphans!.n} orphan deliveries reference a missing message (remove them: DELETE FROM ${this.#deliveries} d WHERE NOT EXISTS (SELECT 1 FROM ${this.#messages} m WHERE m.seq = d.message_seq))`,
      )
    const invariants: [string, string][] = [
      [
        'leased deliveries have a lease expiry and a receipt',
        "status = 'leased' AND (lease_until IS NULL OR receipt IS NULL)",
      ],
      ['only leased deliveries hold a lease', "status <> 'leased' AND lease_until IS NOT NULL"],
      ['acked deliveries have an ack time', "status = 'acked' AND acked_at IS NULL"],
      ['no delivery used more attempts than allowed', 'attempt > max_attempts'],
      [
        'every delivery has a known status',
        "status NOT IN ('queued', 'leased', 'acked', 'failed', 'expired')",
      ],
    ]
    for (const [name, where] of invariants) {
      checks.push(name)
      const [row] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${this.#deliveries} WHERE ${where}`,
      )
      if (row!.n > 0) problems.push(`${name}: ${row!.n} deliveries break it`)
    }
    return { ok: problems.length === 0, problems, checks }
  }

  /**
   * Deletes messages past their TTL and, when `ackedOlderThanMs` is given, messages every recipient acked
   * longer ago than that (unless still held), with their deliveries. The messages are chosen and locked
   * (FOR UPDATE) by one statement, then their deliveries are counted and deleted, then the messages, by
   * their `seq`: the report is exactly what was removed, whatever commits meanwhile. Deliveries have no
   * foreign key, so this is what keeps them from outliving their message: `releaseHeld` locks a message it
   * adds a delivery to (FOR KEY SHARE), so it either committed before our lock — and the statements after
   * it, each with a fresh snapshot, see its delivery — or waits for us and then finds the message gone.
   */
  async cleanup(
    db: SqlQueryable,
    options: {
      dryRun: boolean
      ackedOlderThanMs?: number | undefined
      expiredOlderThanMs?: number | undefined
      limit?: number | undefined
      now: number
    },
  ): Promise<CleanupReport> {
    const { now } = options
    // $1: expired longer ago than expiredOlderThanMs; with ackedOlderThanMs, $2 now and $3 its cut-off.
    // Messages counted as expired are not counted again as acked.
    const expired = 'expires_at <= $1'
    const wantAcked = options.ackedOlderThanMs !== undefined
    const acked = `expires_at > $1 AND (held_until IS NULL OR held_until <= $2)
      AND EXISTS (SELECT 1 FROM ${this.#deliveries} d WHERE d.message_seq = messages.seq)
      AND NOT EXISTS (SELECT 1 FROM ${this.#deliveries} d WHERE d.message_seq = messages.seq
        AND (d.status <> 'acked' OR d.acked_at > $3))`
    const expiredCutoff = now - (options.expiredOlderThanMs ?? 0)
    const chosen = await db.query<{ seq: number; expired: boolean }>(
      `SELECT seq, ${expired} AS expired FROM ${this.#messages} messages
       WHERE ${wantAcked ? `(${expired}) OR (${acked})` : expired}
       ${options.limit === undefined ? '' : `ORDER BY seq LIMIT ${options.limit}`}
       ${options.dryRun ? '' : 'FOR UPDATE'}`,
      wantAcked ? [expiredCutoff, now, now - options.ackedOlderThanMs!] : [expiredCutoff],
    )
    const seqs = chosen.map((row) => row.seq)
    const expiredMessages = chosen.filter((row) => row.expired).length
    const [deliveryCount] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.#deliveries} WHERE message_seq = ANY($1::bigint[])`,
      [seqs],
    )
    if (!options.dryRun && seqs.length > 0) {
      await db.query(`DELETE FROM ${this.#deliveries} WHERE message_seq = ANY($1::bigint[])`, [seqs])
      await db.query(`DELETE FROM ${this.#messages} WHERE seq = ANY($1::bigint[])`, [seqs])
      await db.query(`DELETE FROM ${this.#documents} WHERE message_seq = ANY($1::bigint[])`, [seqs])
    }
    return {
      dryRun: options.dryRun,
      expiredMessages,
      ackedMessages: chosen.length - expiredMessages,
      deliveries: deliveryCount!.n,
    }
  }
}
