import { BROADCAST_TARGET, CAPABILITY_TARGET_PREFIX } from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'

/**
 * Held messages: a `*` or `capability:<name>` message sent with a hold stays deliverable to agents that
 * register later, until it expires. The message row carries the hold (`held_until`, `held_max_attempts`);
 * a registration hands the newcomer one delivery of each held message whose target it matches.
 *
 * "Once per agent" rests on the unique key of deliveries, (message_seq, recipient): a release inserts with
 * ON CONFLICT DO NOTHING, so the agents the message reached when it was sent, a re-registration and two
 * processes registering the same agent at once all end with one delivery, whatever the interleaving.
 */

/** What {@link releaseHeldMessages} hands out deliveries for. */
export interface ReleaseParams {
  /** The agent that registered. */
  agentId: string
  /** Its capabilities now: held `capability:<name>` messages it matches are released to it. */
  capabilities: readonly string[]
  /** Now, ms since epoch: holds and messages past it are left alone. */
  now: number
  /** Attempts of a released delivery when the hold recorded none. */
  defaultMaxAttempts: number
}

/**
 * Queues, for `agentId`, one delivery of every held message it matches and does not have yet: held now,
 * not expired, not sent by it, addressed to `*` or to one of its capabilities. Returns how many it queued.
 * The caller runs it inside its write transaction (the registry: in the one that stores the registration),
 * so the registration and its deliveries commit together. A database without the spool's tables (a
 * registry in a file of its own) has nothing held: 0.
 */
export function releaseHeldMessages(sqlite: BetterSqlite3.Database, params: ReleaseParams): number {
  const hasHolds = sqlite
    .prepare(
      `SELECT 1 FROM pragma_table_info('messages') WHERE name = 'held_until'
       AND EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deliveries')`,
    )
    .pluck()
    .get()
  if (hasHolds === undefined) return 0
  const targets = [BROADCAST_TARGET, ...params.capabilities.map((c) => `${CAPABILITY_TARGET_PREFIX}${c}`)]
  return sqlite
    .prepare(
      `INSERT INTO deliveries
         (message_seq, recipient, status, priority, attempt, max_attempts, available_at, expires_at, created_at, updated_at)
       SELECT seq, @agentId, 'queued', priority, 0, coalesce(held_max_attempts, @maxAttempts), @now, expires_at, @now, @now
       FROM messages
       WHERE held_until IS NOT NULL AND held_until > @now AND expires_at > @now AND from_agent != @agentId
         AND to_agent IN (SELECT value FROM json_each(@targets))
       ORDER BY seq
       ON CONFLICT (message_seq, recipient) DO NOTHING`,
    )
    .run({
      agentId: params.agentId,
      now: params.now,
      maxAttempts: params.defaultMaxAttempts,
      targets: JSON.stringify(targets),
    }).changes
}
