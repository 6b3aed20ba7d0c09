import { consoleAuditTable, consoleOutboxTable, consoleSessionsTable } from '@agent-comm/spool/console-store'
import { spoolSchema } from '../schema.js'
import { pgTableOf } from '../table-of.js'

// The console's tables in the spool's schema, shared by every relay replica: built from the description
// the relay's SQLite tables are built from (`@agent-comm/spool/console-store`).

/** Console sign-ins (only the SHA-256 of the cookie's id). */
export const consoleSessions = pgTableOf(spoolSchema, consoleSessionsTable)

/** The append-only audit log of approval decisions; the unique `request_id` makes the first decision win. */
export const consoleAudit = pgTableOf(spoolSchema, consoleAuditTable)

/** Decisions whose `approval_response` message is not yet in the spool (a transactional outbox). */
export const consoleOutbox = pgTableOf(spoolSchema, consoleOutboxTable)
