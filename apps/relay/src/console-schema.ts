import { consoleAuditTable, consoleOutboxTable, consoleSessionsTable } from '@agent-comm/spool/console-store'
import { sqliteTableOf } from '@agent-comm/spool/sqlite-table'

// The console's SQLite tables, built from the description the PostgreSQL store's tables are built from
// (`@agent-comm/spool/console-store`).

/** Console sign-ins (only the SHA-256 of the cookie's id). */
export const consoleSessions = sqliteTableOf(consoleSessionsTable)

/** The append-only audit log of approval decisions; the unique `request_id` makes the first decision win. */
export const consoleAudit = sqliteTableOf(consoleAuditTable)

/** Decisions whose `approval_response` message is not yet in the spool (a transactional outbox). */
export const consoleOutbox = sqliteTableOf(consoleOutboxTable)
