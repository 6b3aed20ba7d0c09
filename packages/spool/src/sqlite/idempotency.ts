import type BetterSqlite3 from 'better-sqlite3'
import { type MessageColumnValues, messageColumnValues } from '../rows.js'
import type { StoredSend } from '../store.js'

/** The statements {@link prepareKeyStatements} makes. */
export interface KeyStatements {
  insert: BetterSqlite3.Statement<unknown[]>
  insertWhileNoneAside: BetterSqlite3.Statement<unknown[]>
  liveOwner: BetterSqlite3.Statement<[{ sender: string; key: string; now: number }], string>
  releaseOnMessage: BetterSqlite3.Statement<[string, string]>
  releaseAside: BetterSqlite3.Statement<[string, string]>
  keepAside: BetterSqlite3.Statement<[string, string, string, number, number]>
}

/**
 * The statements of keyed sends. A key lives on its message's row (`messages.idempotency_key`, unique per
 * sender where set), so a keyed send is the plain send's insert with two more columns and one more index
 * entry: with the key in a table of its own (and its two indexes) a keyed send wrote 10.5 WAL frames per
 * commit against a plain send's 6.8 and cost a quarter of the throughput; on the row, 8.4 frames and about a
 * tenth of the CPU time (coordinator README, "Request / reply and idempotency keys").
 * Keys that outlive their row, or that name a message holding another key, are kept in `idempotency_keys`.
 */
export function prepareKeyStatements(sqlite: BetterSqlite3.Database): KeyStatements {
  return {
    // Stores the message with its key; stores nothing when the sender's key is on another message (live or
    // not) or live in `idempotency_keys` (a key kept aside is in no index of `messages`, so the insert looks
    // there itself), and fails on a taken id. The look inside the insert, the sender and key bound once: 2,300
    // fewer SQLite and better-sqlite3 instructions a keyed send than a statement of its own (callgrind,
    // coordinator README "Request / reply and idempotency keys", issue #17). One conflict target: ON CONFLICT
    // DO NOTHING for any index measured 3 µs dearer, and a taken id is the rare case, paid for by an exception.
    insert: sqlite.prepare(`INSERT INTO messages
      (id, from_agent, to_agent, subject, body, priority, conversation_id, reply_to, ttl_hours, payload, metadata,
        created_at, expires_at, idempotency_key, idempotency_expires_at)
      SELECT * FROM (SELECT ? AS id, ? AS sender, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? AS key, ?) AS sent
        WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k
          WHERE k.sender = sent.sender AND k.key = sent.key AND k.expires_at > ?)
      ON CONFLICT (from_agent, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`),
    // The same insert while `idempotency_keys` is empty, as it is unless a key was ever kept aside: a
    // single-row VALUES insert, which needs no statement journal (the form above, `INSERT … SELECT`, is a
    // multi-row insert that may abort, so SQLite journals the pages it changes: 7,700 more SQLite instructions
    // a keyed send, callgrind, coordinator README "Request / reply and idempotency keys", issue #17). It looks
    // only whether the table holds any key at all (no sender or key to bind): when it does, the id is left
    // NULL, the insert fails on it without storing anything, and the send takes the insert above.
    insertWhileNoneAside: sqlite.prepare(`INSERT INTO messages
      (id, from_agent, to_agent, subject, body, priority, conversation_id, reply_to, ttl_hours, payload, metadata,
        created_at, expires_at, idempotency_key, idempotency_expires_at)
      VALUES (CASE WHEN EXISTS (SELECT 1 FROM idempotency_keys) THEN NULL ELSE ? END,
        ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (from_agent, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`),
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
 * Whether `idempotency_keys` may be empty, as this connection last found it: while it may, a keyed send
 * tries the insert that does not look into it by sender and key (`insertWhileNoneAside`, which checks the
 * table is empty itself, so a key another connection kept aside is never missed). Found not empty, the
 * sends take the full insert, and try the other again after {@link ASIDE_RECHECK_SENDS} of them.
 */
export interface AsideHint {
  /** Keyed sends left before trying the insert for an empty `idempotency_keys` again; 0 = try it now. */
  fullInsertsLeft: number
}

/** How many keyed sends take the full insert after `idempotency_keys` was found holding a key. */
export const ASIDE_RECHECK_SENDS = 1_000

/**
 * Stores the message row of a keyed send (the caller holds the write transaction), in one statement when
 * the key is new. When that stores nothing, tells a live key (the duplicate) from one whose window is over
 * (let go of, then the insert again) and from a taken id.
 */
export function storeKeyedMessage(
  sql: KeyStatements,
  send: StoredSend,
  now: number,
  hint: AsideHint,
): KeyedInsert {
  const { key, expiresAt } = send.idempotency!
  const sender = send.message.fromAgent
  const stored = insertKeyed(sql, messageColumnValues(send), key, expiresAt, now, hint)
  if (stored !== 'key-taken') return stored
  const originalId = sql.liveOwner.get({ sender, key, now })
  if (originalId !== undefined) return { originalId }
  // The key's window is over: let go of it where it is, and take it.
  sql.releaseOnMessage.run(sender, key)
  sql.releaseAside.run(sender, key)
  // Nothing holds the key now: the insert stores the row or finds the id taken.
  return insertKeyed(sql, messageColumnValues(send), key, expiresAt, now, hint) as KeyedInsert
}

/**
 * The keyed insert: the new row, `'key-taken'` (nothing stored: the key is held, on a message or aside), or
 * `'id-taken'` (the id's unique index).
 */
function insertKeyed(
  sql: KeyStatements,
  values: MessageColumnValues,
  key: string,
  expiresAt: number,
  now: number,
  hint: AsideHint,
): KeyedInsert | 'key-taken' {
  try {
    if (hint.fullInsertsLeft === 0) {
      try {
        // Spread, as the plain insert's: binding from an array measured slower.
        const inserted = sql.insertWhileNoneAside.run(...values, key, expiresAt)
        return inserted.changes === 0 ? 'key-taken' : { seq: inserted.lastInsertRowid }
      } catch (error) {
        // The id left NULL: `idempotency_keys` holds a key (nothing was stored). The full insert decides.
        if ((error as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_NOTNULL') throw error
        hint.fullInsertsLeft = ASIDE_RECHECK_SENDS
      }
    } else {
      hint.fullInsertsLeft--
    }
    const inserted = sql.insert.run(...values, key, expiresAt, now)
    return inserted.changes === 0 ? 'key-taken' : { seq: inserted.lastInsertRowid }
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'id-taken'
    throw error
  }
}

/**
 * Gives the key of a send whose id its sender already stored to that message, in `idempotency_keys` (the
 * message's row may hold another key): a later send with the key is its duplicate.
 */
export function keepKeyAside(sql: KeyStatements, send: StoredSend, now: number): void {
  const { key, expiresAt } = send.idempotency!
  sql.keepAside.run(send.message.fromAgent, key, send.message.id, now, expiresAt)
}
