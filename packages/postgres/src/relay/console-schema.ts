import { bigint, boolean, index, text } from 'drizzle-orm/pg-core'
import { spoolSchema } from '../schema.js'

/**
 * The human console's sign-ins, shared by every relay replica: a session made on one works on all, and
 * signing out on one ends it on all. Only the SHA-256 of the cookie's random id is stored (`id_hash`).
 * `csrf_secret` is the secret the session's CSRF tokens are derived from.
 */
export const consoleSessions = spoolSchema.table(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    agentId: text('agent_id').notNull(),
    admin: boolean('admin').notNull(),
    csrfSecret: text('csrf_secret').notNull(),
    /** ms since the epoch, on the relay's clock. */
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
)

/**
 * The console's audit log of approval decisions: append-only (no statement of this package updates or
 * deletes a row; the spool's `cleanup` never touches it), one row per decided request. The unique
 * `request_id` is the referee of "first decision wins" across replicas.
 */
export const consoleAudit = spoolSchema.table(
  'console_audit',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    requestId: text('request_id').notNull().unique(),
    responseId: text('response_id').notNull(),
    requester: text('requester').notNull(),
    question: text('question').notNull(),
    action: text('action'),
    decision: text('decision').notNull(),
    comment: text('comment'),
    decidedBy: text('decided_by').notNull(),
    decidedAt: bigint('decided_at', { mode: 'number' }).notNull(),
    /** JSON text of the edited arguments, or null. */
    arguments: text('arguments'),
    expired: boolean('expired').notNull(),
  },
  (t) => [
    index('console_audit_decided_by_idx').on(t.decidedBy, t.seq),
    index('console_audit_requester_idx').on(t.requester, t.seq),
  ],
)

/**
 * Decisions whose `approval_response` message is not yet in the spool (a transactional outbox written with
 * the audit row, deleted once the message is sent).
 */
export const consoleOutbox = spoolSchema.table('console_outbox', {
  requestId: text('request_id').primaryKey(),
  /** JSON text of the response message. */
  message: text('message').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
})
