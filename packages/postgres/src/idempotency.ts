import type { StoredSend } from '@agent-comm/spool'
import type { SqlQueryable } from './client.js'

/** The idempotency-key statements of one schema, apart from the send path's own (`statements.ts`). */
export function idempotencyStatements(schema: string) {
  const keys = `"${schema}".idempotency_keys`
  return {
    // Takes the key when it is new or its window is over; a live key is left as it is and no row comes
    // back. Two transactions racing for one key: the second waits on the first's row lock, then sees its
    // committed key (no row) or, if it rolled back, takes the key itself.
    claimKey: `INSERT INTO ${keys} (sender, key, message_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (sender, key) DO UPDATE SET message_id = EXCLUDED.message_id,
          created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
        WHERE ${keys}.expires_at <= $4
        RETURNING 1`,
    keyOwner: `SELECT message_id AS "messageId" FROM ${keys} WHERE sender = $1 AND key = $2`,
    deleteExpired: `DELETE FROM ${keys} WHERE expires_at <= $1`,
  }
}

/** The statements {@link idempotencyStatements} makes. */
export type IdempotencyStatements = ReturnType<typeof idempotencyStatements>

/**
 * Claims the idempotency key of a keyed send in the caller's transaction: undefined when the send may go
 * ahead (the key is now its own), else the id of the message the sender's live key stored.
 */
export async function claimIdempotencyKey(
  tx: SqlQueryable,
  sql: IdempotencyStatements,
  send: StoredSend,
  now: number,
): Promise<string | undefined> {
  const { key, expiresAt } = send.idempotency!
  const sender = send.message.fromAgent
  const taken = await tx.query(sql.claimKey, [sender, key, send.message.id, now, expiresAt])
  if (taken.length > 0) return undefined
  const [owner] = await tx.query<{ messageId: string }>(sql.keyOwner, [sender, key])
  return owner!.messageId
}
