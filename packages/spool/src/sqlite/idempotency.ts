import type BetterSqlite3 from 'better-sqlite3'
import { messageColumnValues } from '../rows.js'
import type { StoredSend } from '../store.js'

/** The statements {@link prepareKeyStatements} makes. */
export interface KeyStatements {
  insert: BetterSqlite3.Statement<unknown[]>
  liveOwner: BetterSqlite3.Statement<[{ sender: string; key: string; now: number }], string>
  releaseOnMessage: BetterSqlite3.Statement<[string, string]>
  releaseAside: BetterSqlite3.Statement<[string, string]>
  keepAside: BetterSqlite3.Statement<[string, string, string, number, number]>
}

/**
 * The statements of keyed sends. A key lives on its message's row (`messages.idempotency_key`, unique per
 * sender where set), so a keyed send is the plain send's insert with two more columns and one more index
 * entry: a key of its own table and indexes cost a keyed send a third of its throughput (three more B-tree
 * pages written per commit), the key on the row about a tenth (coordinator/bench/request-reply.bench.mjs).
 * Keys that outlive their row, or that name a message holding another key, are kept in `idempotency_keys`.
 */
export function prepareKeyStatements(sqlite: BetterSqlite3.Database): KeyStatements {
  return {
    // One statement on the common path: stores the message with its key unless the sender holds the key
    // aside (live), the sender's key is on another message (live or not: the unique index), or the id is
    // taken. Positional parameters: the message columns, key, expiry, then sender, key and now again
    // (better-sqlite3 binds no numbered ?NNN ones).
    insert: sqlite.prepare(`INSERT INTO messages
      (id, from_agent, to_agent, subject, body, priority, conversation_id, reply_to, ttl_hours, payload, metadata,
        created_at, expires_at, idempotency_key, idempotency_expires_at)
      SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
      WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE sender = ? AND key = ? AND expires_at > ?)
      ON CONFLICT DO NOTHING`),
    liveOwner: sqlite
      .prepare<{ sender: string; key: string; now: number }, string>(`SELECT id FROM messages
          WHERE from_agent = @sender AND idempotency_key = @key AND idempotency_expires_at > @now
        UNION ALL SELECT message_id FROM idempotency_keys WHERE sender = @sender AND key = @key AND expires_at > @now
        LIMIT 1`)
      .pluck(),
    // A key whose window is over is let go of wherever it is, so the next send with it takes it.
    releaseOnMessage: sqlite.prepare<[string, string]>(
      `UPDATE messages SET idempotency_key = NULL, idempotency_expires_at = NULL
        WHERE from_agent = ? AND idempotency_key = ?`,
    ),
    releaseAside: sqlite.prepare<[string, string]>(
      'DELETE FROM idempotency_keys WHERE sender = ? AND key = ?',
    ),
    keepAside: sqlite.prepare<[string, string, string, number, number]>(
      `INSERT INTO idempotency_keys (sender, key, message_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
    ),
  }
}

/** What {@link storeKeyedMessage} did. */
export type KeyedInsert =
  /** The message is stored with its key, at this rowid: its deliveries are to be written. */
  | { seq: number | bigint }
  /** The sender's key is live: nothing was stored, and this is the message the key stored. */
  | { originalId: string }
  /** The key is free but the message id is taken: nothing was stored (see {@link keepKeyAside}). */
  | 'id-taken'

/**
 * Stores the message row of a keyed send (the caller holds the write transaction), in one statement when
 * the key is new. When that stores nothing, tells a live key (the duplicate) from one whose window is over
 * (let go of, then the insert again) and from a taken id.
 */
export function storeKeyedMessage(sql: KeyStatements, send: StoredSend, now: number): KeyedInsert {
  const { key, expiresAt } = send.idempotency!
  const sender = send.message.fromAgent
  const params = [...messageColumnValues(send), key, expiresAt, sender, key, now]
  let inserted = sql.insert.run(params)
  if (inserted.changes === 0) {
    const originalId = sql.liveOwner.get({ sender, key, now })
    if (originalId !== undefined) return { originalId }
    sql.releaseOnMessage.run(sender, key)
    sql.releaseAside.run(sender, key)
    inserted = sql.insert.run(params)
    if (inserted.changes === 0) return 'id-taken'
  }
  return { seq: inserted.lastInsertRowid }
}

/**
 * Gives the key of a send whose id its sender already stored to that message, in `idempotency_keys` (the
 * message's row may hold another key): a later send with the key is its duplicate.
 */
export function keepKeyAside(sql: KeyStatements, send: StoredSend, now: number): void {
  const { key, expiresAt } = send.idempotency!
  sql.keepAside.run(send.message.fromAgent, key, send.message.id, now, expiresAt)
}
