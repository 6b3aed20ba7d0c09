import { sql } from 'drizzle-orm'
import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/**
 * One row per message, stored once however many recipients it has. `seq` is the rowid: it orders
 * messages by arrival and is the content rowid of the full-text index.
 */
export const messages = sqliteTable(
  'messages',
  {
    // A plain rowid alias (no AUTOINCREMENT): new rows still get max+1, without a sqlite_sequence write per insert.
    seq: integer('seq').primaryKey(),
    id: text('id').notNull(),
    fromAgent: text('from_agent').notNull(),
    toAgent: text('to_agent').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    /** 0 = critical … 3 = low. */
    priority: integer('priority').notNull(),
    conversationId: text('conversation_id').notNull(),
    replyTo: text('reply_to'),
    ttlHours: real('ttl_hours').notNull(),
    /** JSON of the payload, or null. */
    payload: text('payload'),
    /** JSON of the metadata object, or null. */
    metadata: text('metadata'),
    /** The message's own timestamp, ms since epoch. */
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    /**
     * For a `*` or `capability:<name>` message sent with a hold: until when (ms since epoch, its expiry)
     * agents that register later and match its target are given a delivery. Null: not held.
     */
    heldUntil: integer('held_until'),
    /** Attempts of the deliveries a hold hands out later (the sender's `maxAttempts`). */
    heldMaxAttempts: integer('held_max_attempts'),
    /**
     * The sender's idempotency key this message was sent with, or null. Kept on the message row, so a keyed
     * send writes one index entry more than a plain one, not a row of its own (see `idempotencyKeys`).
     */
    idempotencyKey: text('idempotency_key'),
    /** Until when (ms since epoch) `idempotency_key` holds; null with it. */
    idempotencyExpiresAt: integer('idempotency_expires_at'),
  },
  (t) => [
    uniqueIndex('messages_id_unique').on(t.id),
    index('messages_conversation_idx').on(t.conversationId, t.seq),
    // Held messages are few: a registration finds them without scanning the message table.
    index('messages_held_idx').on(t.heldUntil).where(sql`held_until IS NOT NULL`),
    // Approval requests are few: the console finds those not decided, whatever their deliveries' status (an
    // agent may ack one without deciding it), in page order without reading the rest of the table. The
    // predicate is the console store's query's own, so SQLite can use the index for it.
    index('messages_approval_idx').on(t.createdAt, t.seq).where(sql`payload LIKE '%approval_request%'`),
    // One message per sender and key; plain sends (no key) are not indexed, so they pay nothing for it.
    uniqueIndex('messages_idempotency_key_unique')
      .on(t.fromAgent, t.idempotencyKey)
      .where(sql`idempotency_key IS NOT NULL`),
  ],
)

/**
 * One row per (message, recipient): the delivery state machine lives here.
 *
 * `available_at` is the single time a claim looks at: for a queued delivery it is when the delivery
 * becomes visible (delay, retry backoff), for a leased one it is when the lease runs out. So "claimable"
 * is `status IN ('queued','leased') AND available_at <= now`, served by one partial index per status.
 */
export const deliveries = sqliteTable(
  'deliveries',
  {
    id: integer('id').primaryKey(),
    messageSeq: integer('message_seq')
      .notNull()
      .references(() => messages.seq, { onDelete: 'cascade' }),
    recipient: text('recipient').notNull(),
    status: text('status', { enum: ['queued', 'leased', 'acked', 'failed', 'expired'] }).notNull(),
    priority: integer('priority').notNull(),
    attempt: integer('attempt').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    availableAt: integer('available_at').notNull(),
    leaseUntil: integer('lease_until'),
    receipt: text('receipt'),
    expiresAt: integer('expires_at').notNull(),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    ackedAt: integer('acked_at'),
  },
  (t) => [
    // One delivery per (message, recipient); integer keys keep this index small on the send path.
    uniqueIndex('deliveries_message_recipient_unique').on(t.messageSeq, t.recipient),
    // Claim order: priority, then arrival. Only queued deliveries are indexed, so neither acked history
    // nor in-flight leases of any size slow a claim down.
    index('deliveries_claim_idx').on(t.recipient, t.priority, t.id).where(sql`status = 'queued'`),
    // Leases by expiry: finds the leases of an agent that ran out without scanning live ones.
    index('deliveries_lease_idx').on(t.recipient, t.availableAt).where(sql`status = 'leased'`),
    // Dead letters are rare; a partial index lists them without touching the hot path.
    index('deliveries_failed_idx').on(t.recipient).where(sql`status = 'failed'`),
  ],
)

/** A stored message row. */
export type MessageRow = typeof messages.$inferSelect

/** A stored delivery row. */
export type DeliveryRow = typeof deliveries.$inferSelect

/**
 * Small key/value facts the spool keeps about itself. `fts_indexed_seq` is the highest message `seq` in
 * the full-text index: the index is brought up to date lazily, by the first search after new messages,
 * so sending does not pay for full-text indexing.
 */
export const spoolState = sqliteTable('spool_state', {
  key: text('key').primaryKey(),
  value: integer('value').notNull(),
})

/**
 * Idempotency keys that outlive their message's row: one enqueue per (sender, key) until `expires_at`. A
 * key normally lives on its message (`messages.idempotency_key`); it is kept here when cleanup deletes the
 * message inside the key's window, or when the key names a message that already holds another key (a
 * resend of the same id with a new key). A send naming a live key of its sender, in either place, stores
 * nothing and reports the message the key first stored (`message_id`); an expired key is taken over by the
 * next send with that key. Keys are per sender, so no agent can pre-empt or probe another's.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    sender: text('sender').notNull(),
    key: text('key').notNull(),
    messageId: text('message_id').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [
    uniqueIndex('idempotency_keys_sender_key_unique').on(t.sender, t.key),
    index('idempotency_keys_expires_idx').on(t.expiresAt),
  ],
)
