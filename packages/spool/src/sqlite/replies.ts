import type BetterSqlite3 from 'better-sqlite3'

/**
 * The statements that find a reply: the delivery to `@recipient` of a message whose `reply_to` is
 * `@replyTo`, claimable at `@now` (queued and due, or leased with the lease run out and attempts left; the
 * message not expired), oldest first. Only that delivery is touched: a requester waiting for one reply
 * never leases its other messages. The message side is found through `reply_to`; an agent's replies to one
 * request are few, so the join on the recipient's deliveries stays small. `@from`, a JSON array of agent
 * ids or null, limits the senders whose reply is taken (see {@link replyBindings}).
 */
const CANDIDATE = `SELECT d.id FROM deliveries d JOIN messages m ON m.seq = d.message_seq
  WHERE d.recipient = @recipient AND m.reply_to = @replyTo AND d.available_at <= @now AND d.expires_at > @now
    AND (@from IS NULL OR m.from_agent IN (SELECT value FROM json_each(@from)))
    AND (d.status = 'queued' OR (d.status = 'leased' AND d.attempt < d.max_attempts))
  ORDER BY d.id LIMIT 1`

/**
 * The delivery of message `@messageId` to `@recipient`, claimable at `@now` (same conditions as above): a
 * person opening one message in the console leases that one and none of the messages ahead of it.
 */
const MESSAGE_CANDIDATE = `SELECT d.id FROM deliveries d JOIN messages m ON m.seq = d.message_seq
  WHERE m.id = @messageId AND d.recipient = @recipient AND d.available_at <= @now AND d.expires_at > @now
    AND (d.status = 'queued' OR (d.status = 'leased' AND d.attempt < d.max_attempts))`

/** The prepared reply statements of one connection. */
export interface ReplyStatements {
  /** Leases the oldest claimable reply (as the claim does); RETURNING its row, or nothing. */
  claimReply: BetterSqlite3.Statement
  /** 1 when a claimable reply is waiting, else 0. */
  hasReply: BetterSqlite3.Statement
  /** Leases one named message's delivery when claimable; RETURNING its row, or nothing. */
  claimMessage: BetterSqlite3.Statement
}

/** Prepares the reply statements on `sqlite`. */
export function prepareReplyStatements(sqlite: BetterSqlite3.Database): ReplyStatements {
  return {
    claimReply: sqlite.prepare(`UPDATE deliveries SET
        status = 'leased', attempt = attempt + 1, available_at = @leaseUntil, lease_until = @leaseUntil,
        receipt = @receipt || '.' || id, updated_at = @now
      WHERE id = (${CANDIDATE})
      RETURNING id, message_seq AS messageSeq, attempt, max_attempts AS maxAttempts`),
    hasReply: sqlite.prepare(`SELECT EXISTS (${CANDIDATE})`).pluck(),
    claimMessage: sqlite.prepare(`UPDATE deliveries SET
        status = 'leased', attempt = attempt + 1, available_at = @leaseUntil, lease_until = @leaseUntil,
        receipt = @receipt || '.' || id, updated_at = @now
      WHERE id = (${MESSAGE_CANDIDATE})
      RETURNING id, message_seq AS messageSeq, attempt, max_attempts AS maxAttempts`),
  }
}

/** The bindings of a reply statement: `from` as the JSON array the statements read, or null for any sender. */
export function replyBindings(query: {
  recipient: string
  replyTo: string
  from?: readonly string[] | undefined
}) {
  return {
    recipient: query.recipient,
    replyTo: query.replyTo,
    from: query.from === undefined ? null : JSON.stringify(query.from),
  }
}
