import { consoleAuditTable, consoleOutboxTable } from '@agent-comm/spool/console-store'
import type { CopySection } from '@agent-comm/spool/copy'
import { SqliteConsoleStore } from './console-sqlite-store.js'

/**
 * The console's part of a database copy (`agent-comm db copy`): the audit log of approval decisions (so a
 * request decided before the move stays decided, first decision winning) and the outbox of decisions
 * whose answer is not sent yet. Not the sign-in sessions: people sign in to the console again. Optional:
 * only from a database where the console has decided something; a SQLite destination gets the tables from
 * the relay's migrations.
 */
export const consoleCopySection: CopySection = {
  name: 'console',
  tables: [consoleAuditTable, consoleOutboxTable],
  optional: true,
  migrateSqlite: (sqlite) => {
    SqliteConsoleStore.open(sqlite)
  },
}
