import { type ClaimCommit, commitCondition, MESSAGE_COLUMNS } from './statements.js'

/**
 * The statements that find a reply (`SpoolStore.claimReply` / `hasReply`), apart from the claim path's own:
 * the delivery to $1 of a message whose `reply_to` is $2, claimable at $3 (queued and due, or leased with
 * the lease run out and attempts left; not expired), sent by one of the agents the statement's `from`
 * parameter names (any sender when null), oldest first. Only that delivery is locked and leased: a requester
 * waiting for one reply never takes its other messages.
 */
export function replyStatements(schema: string, claimCommit: ClaimCommit = 'durable') {
  const commit = commitCondition(claimCommit)
  const messages = `"${schema}".messages`
  const deliveries = `"${schema}".deliveries`
  // `from` is parameter `$n`: an array of the senders whose reply is taken, or null for any sender.
  const candidate = (
    from: string,
  ) => `SELECT d.id FROM ${deliveries} d JOIN ${messages} m ON m.seq = d.message_seq
      WHERE d.recipient = $1 AND m.reply_to = $2 AND d.available_at <= $3 AND d.expires_at > $3
        AND (d.status = 'queued' OR (d.status = 'leased' AND d.attempt < d.max_attempts))
        AND (${from}::text[] IS NULL OR m.from_agent = ANY(${from}::text[]))
      ORDER BY d.id LIMIT 1`
  // Leases the one delivery `picked` selects (and locks) and reads it back with its message.
  const lease = (picked: string) => `WITH picked AS (${picked}), leased AS (
        UPDATE ${deliveries} d SET status = 'leased', attempt = d.attempt + 1, available_at = $4, lease_until = $4,
          receipt = $5::text || '.' || d.id, updated_at = $3
        FROM picked WHERE d.id = picked.id ${commit}
        RETURNING d.id, d.message_seq, d.attempt, d.max_attempts, d.receipt
      )
      SELECT l.id AS "deliveryId", l.attempt AS "attempt", l.max_attempts AS "maxAttempts", l.receipt AS "receipt",
        ${MESSAGE_COLUMNS}
      FROM leased l JOIN ${messages} m ON m.seq = l.message_seq`
  return {
    claimReply: lease(`${candidate('$6')} FOR UPDATE OF d SKIP LOCKED`),
    hasReply: `SELECT EXISTS (${candidate('$4')}) AS "found"`,
    // The delivery of message $2 to $1, claimable at $3: a person opening one message leases only that one.
    claimMessage: lease(`
        SELECT d.id FROM ${deliveries} d JOIN ${messages} m ON m.seq = d.message_seq
        WHERE m.id = $2 AND d.recipient = $1 AND d.available_at <= $3 AND d.expires_at > $3
          AND (d.status = 'queued' OR (d.status = 'leased' AND d.attempt < d.max_attempts))
        FOR UPDATE OF d SKIP LOCKED`),
  }
}

/** The statements {@link replyStatements} makes. */
export type ReplyStatements = ReturnType<typeof replyStatements>
