import { registryTables } from '@agent-comm/registry'
import { sql } from 'drizzle-orm'
import {
  bigint,
  customType,
  doublePrecision,
  index,
  integer,
  pgSchema,
  primaryKey,
  smallint,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core'
import { DEFAULT_SCHEMA } from './schema-check.js'
import { pgTableOf } from './table-of.js'

export { DEFAULT_SCHEMA }

/**
 * The full-text document of a message (alias `m`): subject and body, the first 131,072 characters of them.
 * PostgreSQL refuses a tsvector over 1 MB, which a 1 MiB body of distinct words exceeds (the indexing
 * would fail); 2^17 characters keep the worst case (one-character words of four-byte characters) near
 * 650 KB. Words past that point are not found by a search. Used both to index a message and to search the
 * messages not indexed yet, so the two always agree.
 */
export const SEARCH_DOCUMENT = "to_tsvector('simple', left(m.subject || ' ' || m.body, 131072))"

/** Every table lives in a PostgreSQL schema of its own, never in `public`. */
export const spoolSchema = pgSchema(DEFAULT_SCHEMA)

/**
 * One row per message, stored once however many recipients it has; the same columns as the SQLite spool.
 * `payload` and `metadata` keep the JSON text exactly as stored (not `jsonb`), so a column that is not JSON
 * reads the same way on both stores: shown without it, and named in `unreadable`.
 */
export const messages = spoolSchema.table(
  'messages',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    id: text('id').notNull(),
    fromAgent: text('from_agent').notNull(),
    toAgent: text('to_agent').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    /** 0 = critical … 3 = low. */
    priority: smallint('priority').notNull(),
    conversationId: text('conversation_id').notNull(),
    replyTo: text('reply_to'),
    ttlHours: doublePrecision('ttl_hours').notNull(),
    payload: text('payload'),
    metadata: text('metadata'),
    /** The message's own timestamp, ms since epoch. */
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    /** Held for agents that register later until this time (ms since epoch); null: not held. */
    heldUntil: bigint('held_until', { mode: 'number' }),
    /** Attempts of the deliveries a hold hands out later. */
    heldMaxAttempts: integer('held_max_attempts'),
  },
  (t) => [
    uniqueIndex('messages_id_unique').on(t.id),
    index('messages_conversation_idx').on(t.conversationId, t.seq),
    index('messages_held_idx').on(t.heldUntil).where(sql`held_until IS NOT NULL`),
  ],
)

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' })

/**
 * The full-text index, filled after the send rather than in it: a send only records the range of `seq`
 * it wrote in {@link searchPending}, and indexing runs later, in bulk (before a search, and in cleanup).
 * Computing and GIN-indexing the tsvector of each message was about half the time of a batched send
 * (bench/store.bench.mjs); a queue mostly sent to and claimed from pays it only when someone searches.
 * No foreign key: a row whose message is gone is never joined to anything (cleanup deletes it too), and an
 * index pass racing a cleanup must not fail on one.
 */
export const searchDocuments = spoolSchema.table(
  'search_documents',
  {
    messageSeq: bigint('message_seq', { mode: 'number' }).primaryKey(),
    /** `to_tsvector('simple', …)` of subject and body ({@link SEARCH_DOCUMENT}); 'simple' (no stemming, no
     * stop words) matches words the way the SQLite store's unicode61 tokenizer does. */
    document: tsvector('document').notNull(),
  },
  (t) => [index('search_documents_idx').using('gin', t.document)],
)

/**
 * Messages not in {@link searchDocuments} yet, as ranges of `seq`: one row per send statement (its
 * lowest and highest new `seq`), written in the send's transaction. Ranges, not a watermark, because
 * sequence values commit out of order: a range may span `seq`s of a concurrent send, which its own row
 * covers too (indexing is idempotent), and a `seq` in no committed range belongs to no committed message.
 * No index: the table holds only what was sent since the last index pass, which reads it whole. A search
 * scans the messages of these ranges directly, so it finds every message sent, indexed or not.
 */
export const searchPending = spoolSchema.table('search_pending', {
  lo: bigint('lo', { mode: 'number' }).notNull(),
  hi: bigint('hi', { mode: 'number' }).notNull(),
})

/**
 * One row per (message, recipient): the delivery state machine. As on SQLite, `available_at` is the one
 * time a claim looks at — when a queued delivery becomes visible, when a leased one's lease runs out.
 */
export const deliveries = spoolSchema.table(
  'deliveries',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /**
     * The message's `seq`. No foreign key: its check was a trigger call per delivery row, about a fifth of a
     * batched send (EXPLAIN ANALYZE in the README). The writes keep the two tables consistent instead: a
     * send writes a message and its deliveries in one statement, `releaseHeld` locks the messages it adds
     * deliveries to (FOR KEY SHARE), and `cleanup` locks the messages it removes (FOR UPDATE) and deletes
     * their deliveries itself. `verify` reports any delivery whose message is missing.
     */
    messageSeq: bigint('message_seq', { mode: 'number' }).notNull(),
    recipient: text('recipient').notNull(),
    status: text('status', { enum: ['queued', 'leased', 'acked', 'failed', 'expired'] }).notNull(),
    priority: smallint('priority').notNull(),
    attempt: integer('attempt').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    availableAt: bigint('available_at', { mode: 'number' }).notNull(),
    leaseUntil: bigint('lease_until', { mode: 'number' }),
    receipt: text('receipt'),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    lastError: text('last_error'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    ackedAt: bigint('acked_at', { mode: 'number' }),
  },
  (t) => [
    uniqueIndex('deliveries_message_recipient_unique').on(t.messageSeq, t.recipient),
    // Claim order over queued deliveries only: acked history and live leases never lengthen a claim's scan.
    index('deliveries_claim_idx').on(t.recipient, t.priority, t.id).where(sql`status = 'queued'`),
    // Leases by expiry: a claim finds the run-out leases of an agent without scanning live ones.
    index('deliveries_lease_idx').on(t.recipient, t.availableAt).where(sql`status = 'leased'`),
    index('deliveries_failed_idx').on(t.recipient).where(sql`status = 'failed'`),
  ],
)

/**
 * Idempotency keys: one enqueue per (sender, key) until `expires_at`; the same as the SQLite spool's table.
 * A send naming a live key of its sender stores nothing and reports `message_id`; an expired row is taken
 * over by the next send with that key.
 */
export const idempotencyKeys = spoolSchema.table(
  'idempotency_keys',
  {
    sender: text('sender').notNull(),
    key: text('key').notNull(),
    messageId: text('message_id').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.sender, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
)

/** The registry's tables, built from the descriptions the SQLite registry's are built from. */
export const agents = pgTableOf(spoolSchema, registryTables.agents)

/** The capabilities of each agent, one row per (agent, capability), in the order the agent listed them. */
export const agentCapabilities = pgTableOf(spoolSchema, registryTables.agentCapabilities, {
  referenced: { agents },
})

/**
 * The nonces of authenticated relay requests, shared by every replica of a relay: a nonce accepted by one
 * is refused by all (the primary key, one `INSERT … ON CONFLICT DO NOTHING`) until its timestamp leaves
 * the auth window and a sweep deletes it.
 */
export const relayNonces = spoolSchema.table(
  'relay_nonces',
  {
    agentId: text('agent_id').notNull(),
    nonce: text('nonce').notNull(),
    /** When the request was signed, ms since the epoch. */
    timestamp: bigint('timestamp', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.nonce] }), index('relay_nonces_timestamp_idx').on(t.timestamp)],
)

/** Small settings of the relay's replicas (`nonce_retention_ms`: the widest auth window ever served). */
export const relayState = spoolSchema.table('relay_state', {
  key: text('key').primaryKey(),
  value: bigint('value', { mode: 'number' }).notNull(),
})

/**
 * Agents' relay secrets, encrypted (AES-256-GCM) under a key the replicas hold and the database never
 * sees. An agent has one row per working secret: two during a rotation's grace period.
 */
export const relaySecrets = spoolSchema.table(
  'relay_secrets',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    agentId: text('agent_id').notNull(),
    /** `iv.tag.ciphertext`, each base64url. */
    sealed: text('sealed').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    /** After a rotation, when the previous secret stops working; null while it has no end. */
    expiresAt: bigint('expires_at', { mode: 'number' }),
  },
  (t) => [index('relay_secrets_agent_idx').on(t.agentId)],
)

/**
 * One row: a known text sealed under the secrets key, so a replica started with another key finds out at
 * once (it cannot open it) instead of refusing every agent.
 */
export const relaySecretsKey = spoolSchema.table('relay_secrets_key', {
  id: integer('id').primaryKey(),
  keyId: text('key_id').notNull(),
  check: text('check').notNull(),
})
