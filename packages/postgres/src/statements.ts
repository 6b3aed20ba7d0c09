/**
 * The SQL of the PostgreSQL store's writes, per schema (the name is validated before it is written in).
 * Each is one statement; the store runs them inside one transaction per operation.
 */

/** Columns reading a `messages` row (alias `m`) into the `MessageRecord` shape. */
export const MESSAGE_COLUMNS = `m.seq AS "seq", m.id AS "id", m.from_agent AS "fromAgent", m.to_agent AS "toAgent",
  m.subject AS "subject", m.body AS "body", m.priority AS "priority", m.conversation_id AS "conversationId",
  m.reply_to AS "replyTo", m.ttl_hours AS "ttlHours", m.payload AS "payload", m.metadata AS "metadata",
  m.created_at AS "createdAt", m.expires_at AS "expiresAt"`

/** Columns reading a `deliveries` row (alias `d`) into the `DeliveryRecord` shape. */
export const DELIVERY_COLUMNS = `d.recipient AS "recipient", d.status AS "status", d.attempt AS "attempt",
  d.max_attempts AS "maxAttempts", d.available_at AS "availableAt", d.lease_until AS "leaseUntil",
  d.expires_at AS "expiresAt", d.last_error AS "lastError", d.created_at AS "createdAt",
  d.updated_at AS "updatedAt", d.acked_at AS "ackedAt"`

/** A claimed delivery's columns as they were before the claim (see `restoreClaimed`). */
const PREVIOUS = 'id, priority, status, attempt, available_at, lease_until, receipt, last_error, updated_at'

/**
 * The columns of a batched send, in parameter order, with their PostgreSQL types: each message column,
 * then each delivery column (see {@link BATCH}).
 */
export const BATCH_COLUMNS = {
  messages: [
    ['id', 'text'],
    ['from_agent', 'text'],
    ['to_agent', 'text'],
    ['subject', 'text'],
    ['body', 'text'],
    ['priority', 'smallint'],
    ['conversation_id', 'text'],
    ['reply_to', 'text'],
    ['ttl_hours', 'float8'],
    ['payload', 'text'],
    ['metadata', 'text'],
    ['created_at', 'bigint'],
    ['expires_at', 'bigint'],
  ],
  deliveries: [
    ['message_id', 'text'],
    ['recipient', 'text'],
    ['priority', 'smallint'],
    ['max_attempts', 'int'],
    ['available_at', 'bigint'],
    ['expires_at', 'bigint'],
  ],
} as const

const MESSAGE_COUNT = BATCH_COLUMNS.messages.length
const DELIVERY_COUNT = BATCH_COLUMNS.deliveries.length

/**
 * Parameter positions of a batched send (1-based). Column `i` of the messages is the array `$(i+1)` and,
 * when every message has the same value, that value alone as `$(13+i+1)` with an empty array in its place
 * (`coalesce` fills it in; the ids are never shared, so the batch's length is always given): a thousand
 * copies of the sender, the subject or a timestamp are neither serialized, sent nor parsed. The delivery columns follow the same way; their message ids may be null,
 * meaning "the message ids, in order" (every message has exactly one recipient, the usual case). Then
 * `now` and the notification channel.
 */
export const BATCH = {
  message: (i: number) => i + 1,
  messageShared: (i: number) => MESSAGE_COUNT + i + 1,
  delivery: (i: number) => 2 * MESSAGE_COUNT + i + 1,
  deliveryShared: (i: number) => 2 * MESSAGE_COUNT + DELIVERY_COUNT + i + 1,
  now: 2 * MESSAGE_COUNT + 2 * DELIVERY_COUNT + 1,
  channel: 2 * MESSAGE_COUNT + 2 * DELIVERY_COUNT + 2,
} as const

/** `t.<column>`, or the batch-wide value in its place when the array came empty. */
function batchValue(column: readonly [string, string], shared: number): string {
  const [name, kind] = column
  return `coalesce(t.${name}, $${shared}::${kind})`
}

/**
 * The messages insert of a batched send: inserted in batch order (`ORDER BY n`), so `seq` — and with it
 * claim order — follows the batch. Returns `seq, id`.
 */
function batchMessages(messages: string, conflict: string): string {
  const cols = BATCH_COLUMNS.messages
  const arrays = cols.map(([, kind], i) => `$${BATCH.message(i)}::${kind}[]`).join(', ')
  const values = cols.map((c, i) => batchValue(c, BATCH.messageShared(i))).join(', ')
  return `
        INSERT INTO ${messages} (${cols.map(([name]) => name).join(', ')})
        SELECT ${values}
        FROM unnest(${arrays}) WITH ORDINALITY AS t(${cols.map(([name]) => name).join(', ')}, n)
        ORDER BY n
        ${conflict} RETURNING seq, id`
}

/**
 * The deliveries insert of a batched send, for the messages `msg` inserted, in batch order (delivery ids
 * give claim order among equal priorities). Message ids null: the message ids themselves, one each.
 */
function batchDeliveries(deliveries: string, conflict: string): string {
  const cols = BATCH_COLUMNS.deliveries
  const arrays = cols
    .map(([, kind], i) =>
      i === 0
        ? `coalesce($${BATCH.delivery(0)}::text[], $${BATCH.message(0)}::text[])`
        : `$${BATCH.delivery(i)}::${kind}[]`,
    )
    .join(', ')
  const v = (i: number) => batchValue(cols[i]!, BATCH.deliveryShared(i))
  return `
        INSERT INTO ${deliveries}
          (message_seq, recipient, status, priority, attempt, max_attempts, available_at, expires_at, created_at, updated_at)
        SELECT msg.seq, ${v(1)}, 'queued', ${v(2)}, 0, ${v(3)}, ${v(4)}, ${v(5)}, $${BATCH.now}, $${BATCH.now}
        FROM unnest(${arrays}) WITH ORDINALITY AS t(${cols.map(([name]) => name).join(', ')}, n)
          JOIN msg ON msg.id = ${v(0)}
        ORDER BY t.n
        ${conflict} RETURNING message_seq`
}

/**
 * How the commit of a claim or an ack is made durable: `durable` (the default) waits for PostgreSQL's WAL
 * flush as every other write does; `relaxed` sets `synchronous_commit = off` for that statement's own
 * transaction, so it answers without waiting for the disk. A crash of the PostgreSQL server can then forget
 * the last fraction of a second of leases and acks: a forgotten lease is a delivery claimable again, a
 * forgotten ack a redelivery — never a lost message, since sends always wait for the flush.
 */
export type ClaimCommit = 'durable' | 'relaxed'

/**
 * The condition that relaxes a statement's commit: an uncorrelated subquery, so PostgreSQL runs
 * `set_config` once, before the first row it checks is changed, and `true` makes the setting local to the
 * statement's transaction (the next statement on the connection has the server's default again). Written
 * into the UPDATE's own WHERE, not a CTE of its own, which PostgreSQL would not run unless read.
 */
export function commitCondition(claimCommit: ClaimCommit): string {
  return claimCommit === 'relaxed' ? "AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'" : ''
}

/** The write statements of one schema; `claimCommit` is how claims and acks commit (see {@link ClaimCommit}). */
export function writeStatements(schema: string, claimCommit: ClaimCommit = 'durable') {
  // Appended to the WHERE of every UPDATE that leases or acks a delivery.
  const commit = commitCondition(claimCommit)
  const s = `"${schema}"`
  const messages = `${s}.messages`
  const deliveries = `${s}.deliveries`
  const pending = `${s}.search_pending`
  const seqOf = (param: string) => `(SELECT seq FROM ${messages} WHERE id = ${param})`
  // The fence every change of a leased delivery shares: this message, this recipient, leased, and — when a
  // receipt is given — leased by that claim ($3).
  const leasedBy = `message_seq = ${seqOf('$1')} AND recipient = $2 AND status = 'leased'
      AND ($3::text IS NULL OR receipt = $3::text)`
  /**
   * The CTEs of a claim (see `claim`): `gate`, when given, is a condition both halves must meet to take a
   * row, and `leasedGate` one every leased row it changes must meet too (the run-out leases it fails or
   * takes again).
   */
  const claimCtes = (gate: string, leasedGate = '') => `exhausted AS (
        UPDATE ${deliveries} SET status = 'failed', lease_until = NULL, receipt = NULL,
          last_error = 'lease expired without an ack on the last attempt (' || attempt || ' of ' || max_attempts || ')',
          updated_at = $2
        WHERE recipient = $1 AND status = 'leased' AND available_at <= $2 AND attempt >= max_attempts ${leasedGate}
        RETURNING 1
      ), queued AS (
        SELECT ${PREVIOUS} FROM ${deliveries}
        WHERE recipient = $1 AND status = 'queued' AND available_at <= $2 AND expires_at > $2 ${gate}
        ORDER BY priority, id LIMIT $3 FOR UPDATE SKIP LOCKED
      ), expired AS (
        SELECT ${PREVIOUS} FROM ${deliveries}
        WHERE recipient = $1 AND status = 'leased' AND available_at <= $2 AND expires_at > $2
          AND attempt < max_attempts ${gate} ${leasedGate}
        ORDER BY priority, id LIMIT $3 FOR UPDATE SKIP LOCKED
      ), picked AS (
        -- Rows locked by a half but not picked stay locked (skipped by other claimers) only until commit.
        SELECT * FROM (SELECT * FROM queued UNION ALL SELECT * FROM expired) c ORDER BY priority, id LIMIT $3
      ), leased AS (
        UPDATE ${deliveries} d SET status = 'leased', attempt = d.attempt + 1, available_at = $4, lease_until = $4,
          receipt = $5::text || '.' || d.id, updated_at = $2,
          last_error = CASE WHEN d.status = 'leased'
            THEN 'lease expired without an ack on attempt ' || d.attempt ELSE d.last_error END
        FROM picked WHERE d.id = picked.id ${commit}
        RETURNING d.id, d.message_seq, d.priority, d.attempt, d.max_attempts, d.receipt,
          json_build_array(picked.status, picked.attempt, picked.available_at, picked.lease_until, picked.receipt,
            picked.last_error, picked.updated_at)::text AS previous
      )`
  /** The CTEs of `ackAllByReceipt`, with its parameters where `p` says (one statement may hold a claim too). */
  const ackByReceiptCtes = (p: {
    messageIds: string
    recipients: string
    receipts: string
    now: string
    count: string
  }) => `items AS (
        SELECT * FROM unnest(${p.messageIds}::text[], ${p.recipients}::text[], ${p.receipts}::text[]) AS t(message_id, recipient, receipt)
      ), target AS (
        -- One lookup per item, by primary key and by message id, that no plan can turn into a join: a
        -- prepared statement keeps the plan made after its fifth run until the tables' statistics change,
        -- and a join planned while the tables were small hash-joined the items to a sequential scan of
        -- messages (or deliveries), read whole on every ack as the tables grew. OFFSET 0 keeps the lateral
        -- subquery from being pulled up into a join; a scalar subquery never is.
        SELECT d.id, d.status FROM items i
          CROSS JOIN LATERAL (
            SELECT d.id, d.status FROM ${deliveries} d
            WHERE d.id = substring(i.receipt from '[.]([0-9]{1,18})$')::bigint
              AND d.message_seq = (SELECT m.seq FROM ${messages} m WHERE m.id = i.message_id)
              AND d.recipient = i.recipient AND d.receipt = i.receipt AND d.lease_until IS NOT NULL
            OFFSET 0 FOR UPDATE OF d
          ) d
      ), acked AS (
        UPDATE ${deliveries} d SET status = 'acked', acked_at = ${p.now}, updated_at = ${p.now}, lease_until = NULL
        FROM target WHERE d.id = target.id AND target.status = 'leased'
          AND (SELECT count(*) FROM target WHERE target.status = 'leased') = ${p.count} ${commit}
        RETURNING 1
      )`
  return {
    // The message, and its seq in the full-text queue (see `searchPending` in schema.ts).
    insertMessage: `WITH msg AS (
        INSERT INTO ${messages}
          (id, from_agent, to_agent, subject, body, priority, conversation_id, reply_to, ttl_hours, payload, metadata, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (id) DO NOTHING RETURNING seq
      ), pend AS (
        INSERT INTO ${pending} (lo, hi) SELECT seq, seq FROM msg
      )
      SELECT seq FROM msg`,
    /**
     * The usual batch — distinct new ids, distinct recipients per message, no key, no hold — as one
     * statement with no transaction around it (one round trip instead of BEGIN, statement, COMMIT): the
     * messages, their deliveries, the range of their seqs for the full-text queue, and the wake-up when a
     * delivery was queued (parameters: see {@link batchColumns}). No ON CONFLICT: a taken id (or a
     * recipient named twice) fails the whole statement with a unique violation, which writes nothing, and
     * the store runs `insertSendBatch` in a transaction to tell duplicates from another sender's ids.
     * Skipping the speculative insertion ON CONFLICT needs, and returning one row instead of one per
     * message, is what makes it the fast path.
     */
    insertNewSendBatch: `WITH msg AS (${batchMessages(messages, '')}
      ), pend AS (
        INSERT INTO ${pending} (lo, hi) SELECT min(seq), max(seq) FROM msg HAVING count(*) > 0
      ), dl AS (${batchDeliveries(deliveries, '')}
      ), wake AS (
        SELECT pg_notify($${BATCH.channel}, '') FROM (SELECT 1 FROM dl LIMIT 1) queued
      )
      SELECT (SELECT count(*) FROM msg)::int AS "messages", (SELECT count(*) FROM dl)::int AS "deliveries",
        (SELECT count(*) FROM wake)::int AS "woke"`,
    /**
     * A batch of sends with distinct ids in one statement, in the caller's transaction: as
     * `insertNewSendBatch`, but an id already taken is skipped (ON CONFLICT DO NOTHING) rather than failing
     * the statement. Returns one row per inserted message with its count of new deliveries, and one row
     * with a null id (the notification's). An id already taken is in no row: the store asks who sent it.
     */
    insertSendBatch: `WITH msg AS (${batchMessages(messages, 'ON CONFLICT (id) DO NOTHING')}
      ), pend AS (
        INSERT INTO ${pending} (lo, hi) SELECT min(seq), max(seq) FROM msg HAVING count(*) > 0
      ), dl AS (${batchDeliveries(deliveries, 'ON CONFLICT (message_seq, recipient) DO NOTHING')}
      ), counts AS (
        SELECT message_seq, count(*)::int AS n FROM dl GROUP BY message_seq
      ), wake AS (
        SELECT pg_notify($${BATCH.channel}, '') FROM (SELECT 1 FROM dl LIMIT 1) queued
      )
      SELECT msg.id AS "id", coalesce(counts.n, 0) AS "deliveries"
      FROM msg LEFT JOIN counts ON counts.message_seq = msg.seq
      UNION ALL
      SELECT NULL, count(*)::int FROM wake`,
    messageSenders: `SELECT id, from_agent AS "fromAgent" FROM ${messages} WHERE id = ANY($1::text[])`,
    messageSender: `SELECT from_agent AS "fromAgent" FROM ${messages} WHERE id = $1`,
    // One statement per message however many recipients it has.
    insertDeliveries: `WITH inserted AS (
        INSERT INTO ${deliveries}
          (message_seq, recipient, status, priority, attempt, max_attempts, available_at, expires_at, created_at, updated_at)
        SELECT $1, r, 'queued', $3, 0, $4, $5, $6, $7, $7 FROM unnest($2::text[]) WITH ORDINALITY AS t(r, n) ORDER BY n
        ON CONFLICT (message_seq, recipient) DO NOTHING RETURNING 1)
      SELECT count(*)::int AS n FROM inserted`,
    setHold: `UPDATE ${messages} SET held_until = $2, held_max_attempts = $3 WHERE id = $1`,
    releaseHeld: `WITH inserted AS (
        INSERT INTO ${deliveries}
          (message_seq, recipient, status, priority, attempt, max_attempts, available_at, expires_at, created_at, updated_at)
        SELECT seq, $1, 'queued', priority, 0, coalesce(held_max_attempts, $3), $2, expires_at, $2, $2
        FROM ${messages}
        WHERE held_until IS NOT NULL AND held_until > $2 AND expires_at > $2 AND from_agent <> $1
          AND to_agent = ANY($4::text[])
        ORDER BY seq
        -- Deliveries have no foreign key: the lock keeps a concurrent cleanup (FOR UPDATE) from deleting a
        -- message between this read and the commit, which would leave the new delivery without it.
        FOR KEY SHARE
        ON CONFLICT (message_seq, recipient) DO NOTHING RETURNING 1)
      SELECT count(*)::int AS n FROM inserted`,
    // Leases that ran out on their last attempt (of one recipient, or all when $2 is null) become failed.
    failExhaustedLeases: `WITH failed AS (
        UPDATE ${deliveries} SET status = 'failed', lease_until = NULL, receipt = NULL,
          last_error = 'lease expired without an ack on the last attempt (' || attempt || ' of ' || max_attempts || ')',
          updated_at = $1
        WHERE status = 'leased' AND available_at <= $1 AND attempt >= max_attempts
          AND ($2::text IS NULL OR recipient = $2::text)
        RETURNING 1)
      SELECT count(*)::int AS n FROM failed`,
    /**
     * The claim, one statement: the next `$3` claimable deliveries of `$1` — queued and due, or leased with
     * the lease run out and attempts left, message not expired — each half read in claim order from its own
     * partial index and locked with FOR UPDATE SKIP LOCKED (a delivery another transaction is claiming is
     * skipped, never waited for, never handed out twice), merged, leased in the same statement, and
     * returned with their messages in claim order.
     */
    //
    // The claim also fails the recipient's leases that ran out on their last attempt (`failExhaustedLeases`
    // for `$1`, in the `exhausted` CTE): a data-modifying CTE always runs, and it touches only rows the
    // claim's halves never take (attempt >= max_attempts), so one statement does both — one round trip
    // less per claim, which bench/store.bench.mjs measures.
    claim: `WITH ${claimCtes('')}
      SELECT l.id AS "deliveryId", l.attempt AS "attempt", l.max_attempts AS "maxAttempts", l.receipt AS "receipt",
        l.previous AS "previous", ${MESSAGE_COLUMNS}
      FROM leased l JOIN ${messages} m ON m.seq = l.message_seq
      ORDER BY l.priority, l.id`,
    /**
     * `ackMany` when every item applies, and nothing otherwise: locks the leased deliveries the items name
     * (fenced as `ackMany` fences them) and acks them only if each item found one ($5 items, distinct). Safe
     * outside a transaction, so a batch of acks that all apply — the usual case — is one round trip; when it
     * returns 0 the store runs the item-by-item path in a transaction.
     */
    ackAll: `WITH items AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(message_id, recipient, receipt)
      ), target AS (
        SELECT d.id FROM items i
          JOIN ${messages} m ON m.id = i.message_id
          JOIN ${deliveries} d ON d.message_seq = m.seq AND d.recipient = i.recipient
        WHERE d.status = 'leased' AND (i.receipt IS NULL OR d.receipt = i.receipt)
        FOR UPDATE OF d
      ), acked AS (
        UPDATE ${deliveries} d SET status = 'acked', acked_at = $4, updated_at = $4, lease_until = NULL
        FROM target WHERE d.id = target.id AND (SELECT count(*) FROM target) = $5 ${commit}
        RETURNING 1
      )
      SELECT count(*)::int AS n FROM acked`,
    /**
     * `ackAll` for items that all carry a receipt, finding each delivery by the id its receipt ends with
     * (the claim writes `<token>.<delivery id>`): a primary-key lookup per item, fenced by the message id,
     * recipient and the whole receipt. The lease is checked as `lease_until IS NOT NULL` (only a leased
     * delivery holds one: `verify` checks it) and the status read back: a `status = 'leased'` condition would
     * let the planner scan the recipient's partial lease index instead, all of whose entries — acked ones
     * not vacuumed yet included — it walks per item (18 ms per 100 acks midway through draining 10,000,
     * 6 ms by primary key; EXPLAIN ANALYZE, bench/store.bench.mjs's batched figure). A receipt not of that
     * form finds nothing, and the store takes the item-by-item path.
     */
    ackAllByReceipt: `WITH ${ackByReceiptCtes({ messageIds: '$1', recipients: '$2', receipts: '$3', now: '$4', count: '$5' })}
      SELECT count(*)::int AS n FROM acked`,
    /**
     * Settle-and-claim in one statement, for acks that all carry a receipt (as `ackAllByReceipt`, its
     * arrays `$6`–`$8` and count `$9`, `now` shared as `$2`) and the claim of `claim` (`$1`–`$5`): the claim's
     * halves take nothing unless every ack applied, so the statement either acks them all and claims, or
     * changes nothing but the recipient's exhausted leases (which any claim fails). One round trip and one
     * commit where a transaction takes four round trips. Always one row at least: `acked` on every row
     * (the store falls back to the transaction when it is not `$9`), the claimed columns null when nothing
     * was claimed.
     */
    ackAllByReceiptAndClaim: `WITH ${ackByReceiptCtes({ messageIds: '$6', recipients: '$7', receipts: '$8', now: '$2', count: '$9' })},
      ${claimCtes(
        'AND (SELECT count(*) FROM acked) = $9',
        // A lease run out but acked by this statement is neither failed nor taken again by it: one change a row.
        'AND id NOT IN (SELECT id FROM target)',
      )}
      SELECT a.n AS "acked", l.id AS "deliveryId", l.attempt AS "attempt", l.max_attempts AS "maxAttempts", l.receipt AS "receipt",
        l.previous AS "previous", ${MESSAGE_COLUMNS}
      FROM (SELECT count(*)::int AS n FROM acked) a
        LEFT JOIN (leased l JOIN ${messages} m ON m.seq = l.message_seq) ON true
      ORDER BY l.priority, l.id`,
    /**
     * Puts deliveries a claim took back as they were before it (`previous`: the JSON array the claim
     * returned for each), when the caller's `decode` threw: what rolling a claim's transaction back did.
     * Fenced by the receipt the claim gave ($2; null for a row it dead-lettered).
     */
    restoreClaimed: `UPDATE ${deliveries} d SET status = p->>0, attempt = (p->>1)::int, available_at = (p->>2)::bigint,
        lease_until = (p->>3)::bigint, receipt = p->>4, last_error = p->>5, updated_at = (p->>6)::bigint
      FROM unnest($1::bigint[], $2::text[], $3::json[]) AS r(id, fence, p)
      WHERE d.id = r.id AND d.receipt IS NOT DISTINCT FROM r.fence`,
    deadLetterClaimed: `UPDATE ${deliveries} SET status = 'failed', lease_until = NULL, receipt = NULL,
        available_at = $2, last_error = $3, updated_at = $2 WHERE id = $1`,
    /** Takes a queued or leased delivery back from its recipient (no receipt fence), as `failed`. */
    // Failed (no claim, a holder's ack refused) but settled (acked_at set): no dead letter, never requeued.
    withdraw: `UPDATE ${deliveries} SET status = 'failed', lease_until = NULL, receipt = NULL, last_error = $3,
        updated_at = $4, acked_at = $4
      WHERE message_seq = ${seqOf('$1')} AND recipient = $2 AND status IN ('queued', 'leased') RETURNING id`,
    ack: `UPDATE ${deliveries} SET status = 'acked', acked_at = $4, updated_at = $4, lease_until = NULL
      WHERE ${leasedBy} ${commit} RETURNING id`,
    /**
     * Many acks in one statement: parallel arrays of message id, recipient and receipt (null: any lease),
     * each item fenced as `ack` fences one. Returns the position (1-based) of each item it acked; the others
     * — already acked, or refused — the store reads one by one. A delivery named twice is acked once.
     */
    ackMany: `WITH items AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(message_id, recipient, receipt, n)
      ), acked AS (
        UPDATE ${deliveries} d SET status = 'acked', acked_at = $4, updated_at = $4, lease_until = NULL
        FROM items i JOIN ${messages} m ON m.id = i.message_id
        WHERE d.message_seq = m.seq AND d.recipient = i.recipient AND d.status = 'leased'
          AND (i.receipt IS NULL OR d.receipt = i.receipt) ${commit}
        RETURNING i.n
      )
      SELECT n::int AS n FROM acked`,
    deliveryState: `SELECT status, attempt, max_attempts AS "maxAttempts", receipt FROM ${deliveries}
      WHERE message_seq = ${seqOf('$1')} AND recipient = $2`,
    // Locks the delivery for the rest of a release, so the attempt it reads is the one it changes.
    lockDelivery: `SELECT attempt FROM ${deliveries} WHERE message_seq = ${seqOf('$1')} AND recipient = $2 FOR UPDATE`,
    release: `UPDATE ${deliveries} SET
        status = CASE WHEN NOT $8::boolean AND ($5::boolean OR attempt >= max_attempts) THEN 'failed' ELSE 'queued' END,
        attempt = CASE WHEN $8::boolean THEN greatest(attempt - 1, 0) ELSE attempt END,
        last_error = CASE WHEN $8::boolean THEN last_error ELSE $7 END,
        available_at = $6, lease_until = NULL, receipt = NULL, updated_at = $4
      WHERE ${leasedBy}
      RETURNING status, attempt, max_attempts AS "maxAttempts", available_at AS "availableAt"`,
    extendLease: `UPDATE ${deliveries} SET lease_until = $5, available_at = $5, updated_at = $4
      WHERE ${leasedBy} RETURNING lease_until AS "leaseUntil"`,
    requeueFailed: `WITH requeued AS (
        UPDATE ${deliveries} SET status = 'queued', attempt = 0, available_at = $3, updated_at = $3,
          lease_until = NULL, receipt = NULL
        WHERE message_seq = ${seqOf('$1')} AND status = 'failed' AND acked_at IS NULL
          AND ($2::text IS NULL OR recipient = $2::text)
        RETURNING 1)
      SELECT count(*)::int AS n FROM requeued`,
    countWithdrawn: `SELECT count(*)::int AS n FROM ${deliveries} WHERE message_seq = ${seqOf('$1')}
        AND status = 'failed' AND acked_at IS NOT NULL AND ($2::text IS NULL OR recipient = $2::text)`,
    messageExists: `SELECT EXISTS (SELECT 1 FROM ${messages} WHERE id = $1) AS "exists"`,
    hasClaimable: `SELECT EXISTS (SELECT 1 FROM ${deliveries} WHERE recipient = $1 AND status = 'queued'
          AND available_at <= $2 AND expires_at > $2)
        OR EXISTS (SELECT 1 FROM ${deliveries} WHERE recipient = $1 AND status = 'leased'
          AND available_at <= $2 AND expires_at > $2 AND attempt < max_attempts) AS "claimable"`,
    nextAvailableAt: `SELECT LEAST(
        (SELECT min(available_at) FROM ${deliveries} WHERE recipient = $1 AND status = 'queued' AND expires_at > $2),
        (SELECT min(available_at) FROM ${deliveries} WHERE recipient = $1 AND status = 'leased'
          AND expires_at > $2 AND attempt < max_attempts)) AS "at"`,
    notify: 'SELECT pg_notify($1, $2)',
  }
}

/** The write statements of one schema. */
export type WriteStatements = ReturnType<typeof writeStatements>
