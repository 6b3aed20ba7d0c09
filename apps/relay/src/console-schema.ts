import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Console sign-ins, shared by every process on the database. The cookie holds a random id; only its
 * SHA-256 is stored (`id_hash`), so a copy of the database holds no usable cookie. `csrf_secret` is the
 * secret @fastify/csrf-protection derives the session's CSRF tokens from.
 */
export const consoleSessions = sqliteTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    agentId: text('agent_id').notNull(),
    admin: integer('admin', { mode: 'boolean' }).notNull(),
    csrfSecret: text('csrf_secret').notNull(),
    /** ms since the epoch, on the relay's clock. */
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
)

/**
 * The audit log of approval decisions: append-only (nothing updates or deletes a row, `cleanup` of the
 * spool included), one row per decided request. The unique `request_id` is the referee of "first decision
 * wins": of two deciders, on one process or several, exactly one insert lands.
 */
export const consoleAudit = sqliteTable(
  'console_audit',
  {
    seq: integer('seq').primaryKey(),
    requestId: text('request_id').notNull().unique(),
    responseId: text('response_id').notNull(),
    requester: text('requester').notNull(),
    question: text('question').notNull(),
    action: text('action'),
    decision: text('decision').notNull(),
    comment: text('comment'),
    /** The verified identity that decided (or `system:expiry`). */
    decidedBy: text('decided_by').notNull(),
    /** ms since the epoch. */
    decidedAt: integer('decided_at').notNull(),
    /** JSON of the edited arguments, or null. */
    arguments: text('arguments'),
    expired: integer('expired', { mode: 'boolean' }).notNull(),
  },
  (t) => [
    index('console_audit_decided_by_idx').on(t.decidedBy, t.seq),
    index('console_audit_requester_idx').on(t.requester, t.seq),
  ],
)

/**
 * Decisions recorded but whose `approval_response` message is not yet in the spool (a transactional
 * outbox): written in the audit row's transaction, deleted once the message is sent. A process that died
 * in between leaves a row here, which the next deadline sweep sends (the message id is deterministic, so a
 * second send is a reported duplicate).
 */
export const consoleOutbox = sqliteTable('console_outbox', {
  requestId: text('request_id').primaryKey(),
  /** JSON of the response message. */
  message: text('message').notNull(),
  createdAt: integer('created_at').notNull(),
})
