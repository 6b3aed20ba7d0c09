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

/** The write statements of one schema. */
export function writeStatements(schema: string) {
  const s = `"${schema}"`
  const messages = `${s}.messages`
  const deliveries = `${s}.deliveries`
  const pending = `${s}.search_pending`
  const seqOf = (param: string) => `(SELECT seq FROM ${messages} WHERE id = ${param})`
  // The fence every change of a leased delivery shares: this message, this recipient, leased, and — when a
  // receipt is given — leased by that claim ($3).
  const leasedBy = `message_seq = ${seqOf('$1')} AND recipient = $2 AND status = 'leased'
      AND ($3::text IS NULL OR receipt = $3::text)`
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
     * A batch of sends with distinct ids in one statement: the messages (parallel arrays $1–$13, one element
     * per message, inserted in batch order, so `seq` — and with it claim order — follows the batch), the
     * deliveries of those it inserted (parallel arrays $14–$19, one element per recipient, naming its message
     * by id, in batch order), the range of their seqs in the full-text queue (one row for the whole batch:
     * see `searchPending` in schema.ts), and — when a delivery was queued — the wake-up on channel $21, all in the
     * caller's transaction. Returns one row per inserted message with its count of new deliveries, and one
     * row with a null id (the notification's). An id already taken is in no row: the store asks who sent it.
     */
    insertSendBatch: `WITH msg AS (
        INSERT INTO ${messages}
          (id, from_agent, to_agent, subject, body, priority, conversation_id, reply_to, ttl_hours, payload, metadata, created_at, expires_at)
        SELECT id, from_agent, to_agent, subject, body, priority, conversation_id, reply_to, ttl_hours, payload, metadata, created_at, expires_at
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::text[], $8::text[],
            $9::float8[], $10::text[], $11::text[], $12::bigint[], $13::bigint[])
          WITH ORDINALITY AS t(id, from_agent, to_agent, subject, body, priority, conversation_id, reply_to, ttl_hours,
            payload, metadata, created_at, expires_at, n)
        ORDER BY n
        ON CONFLICT (id) DO NOTHING RETURNING seq, id
      ), pend AS (
        INSERT INTO ${pending} (lo, hi) SELECT min(seq), max(seq) FROM msg HAVING count(*) > 0
      ), dl AS (
        INSERT INTO ${deliveries}
          (message_seq, recipient, status, priority, attempt, max_attempts, available_at, expires_at, created_at, updated_at)
        SELECT msg.seq, t.recipient, 'queued', t.priority, 0, t.max_attempts, t.available_at, t.expires_at, $20, $20
        FROM unnest($14::text[], $15::text[], $16::smallint[], $17::int[], $18::bigint[], $19::bigint[])
            WITH ORDINALITY AS t(message_id, recipient, priority, max_attempts, available_at, expires_at, n)
          JOIN msg ON msg.id = t.message_id
        ORDER BY t.n
        ON CONFLICT (message_seq, recipient) DO NOTHING RETURNING message_seq
      ), counts AS (
        SELECT message_seq, count(*)::int AS n FROM dl GROUP BY message_seq
      ), wake AS (
        SELECT pg_notify($21, '') FROM (SELECT 1 FROM dl LIMIT 1) queued
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
    claim: `WITH exhausted AS (
        UPDATE ${deliveries} SET status = 'failed', lease_until = NULL, receipt = NULL,
          last_error = 'lease expired without an ack on the last attempt (' || attempt || ' of ' || max_attempts || ')',
          updated_at = $2
        WHERE recipient = $1 AND status = 'leased' AND available_at <= $2 AND attempt >= max_attempts
        RETURNING 1
      ), queued AS (
        SELECT ${PREVIOUS} FROM ${deliveries}
        WHERE recipient = $1 AND status = 'queued' AND available_at <= $2 AND expires_at > $2
        ORDER BY priority, id LIMIT $3 FOR UPDATE SKIP LOCKED
      ), expired AS (
        SELECT ${PREVIOUS} FROM ${deliveries}
        WHERE recipient = $1 AND status = 'leased' AND available_at <= $2 AND expires_at > $2
          AND attempt < max_attempts
        ORDER BY priority, id LIMIT $3 FOR UPDATE SKIP LOCKED
      ), picked AS (
        -- Rows locked by a half but not picked stay locked (skipped by other claimers) only until commit.
        SELECT * FROM (SELECT * FROM queued UNION ALL SELECT * FROM expired) c ORDER BY priority, id LIMIT $3
      ), leased AS (
        UPDATE ${deliveries} d SET status = 'leased', attempt = d.attempt + 1, available_at = $4, lease_until = $4,
          receipt = $5::text || '.' || d.id, updated_at = $2,
          last_error = CASE WHEN d.status = 'leased'
            THEN 'lease expired without an ack on attempt ' || d.attempt ELSE d.last_error END
        FROM picked WHERE d.id = picked.id
        RETURNING d.id, d.message_seq, d.priority, d.attempt, d.max_attempts, d.receipt,
          json_build_array(picked.status, picked.attempt, picked.available_at, picked.lease_until, picked.receipt,
            picked.last_error, picked.updated_at)::text AS previous
      )
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
        FROM target WHERE d.id = target.id AND (SELECT count(*) FROM target) = $5
        RETURNING 1
      )
      SELECT count(*)::int AS n FROM acked`,
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
    withdraw: `UPDATE ${deliveries} SET status = 'failed', lease_until = NULL, receipt = NULL, last_error = $3,
        updated_at = $4
      WHERE message_seq = ${seqOf('$1')} AND recipient = $2 AND status IN ('queued', 'leased') RETURNING id`,
    ack: `UPDATE ${deliveries} SET status = 'acked', acked_at = $4, updated_at = $4, lease_until = NULL
      WHERE ${leasedBy} RETURNING id`,
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
          AND (i.receipt IS NULL OR d.receipt = i.receipt)
        RETURNING i.n
      )
      SELECT n::int AS n FROM acked`,
    deliveryState: `SELECT status, attempt, max_attempts AS "maxAttempts", receipt FROM ${deliveries}
      WHERE message_seq = ${seqOf('$1')} AND recipient = $2`,
    // Locks the delivery for the rest of a release, so the attempt it reads is the one it changes.
    lockDelivery: `SELECT attempt FROM ${deliveries} WHERE message_seq = ${seqOf('$1')} AND recipient = $2 FOR UPDATE`,
    release: `UPDATE ${deliveries} SET
        status = CASE WHEN $5::boolean OR attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
        available_at = $6, lease_until = NULL, receipt = NULL, last_error = $7, updated_at = $4
      WHERE ${leasedBy}
      RETURNING status, attempt, max_attempts AS "maxAttempts", available_at AS "availableAt"`,
    extendLease: `UPDATE ${deliveries} SET lease_until = $5, available_at = $5, updated_at = $4
      WHERE ${leasedBy} RETURNING lease_until AS "leaseUntil"`,
    requeueFailed: `WITH requeued AS (
        UPDATE ${deliveries} SET status = 'queued', attempt = 0, available_at = $3, updated_at = $3,
          lease_until = NULL, receipt = NULL
        WHERE message_seq = ${seqOf('$1')} AND status = 'failed' AND ($2::text IS NULL OR recipient = $2::text)
        RETURNING 1)
      SELECT count(*)::int AS n FROM requeued`,
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
