import type { CopySection } from '@agent-comm/spool/copy'
import { migrateA2A } from './sqlite/store.js'
import { a2aTables } from './tables.js'

/**
 * The A2A endpoint's part of a database copy (`agent-comm db copy`): caller tokens (their hashes: the
 * callers' tokens keep working), tasks, the spool messages they sent, the message ids their callers sent,
 * stream events, push configs and the push outbox. Not the push-signing keys: their private halves are
 * sealed under the relay's secrets key, which the database never holds; the relay makes a new key on its
 * first start on the destination. Optional: copied only from a database that has these tables with rows
 * (a relay's), so a SQLite destination gets them only then.
 */
export const a2aCopySection: CopySection = {
  name: 'a2a',
  tables: [
    a2aTables.tokens,
    a2aTables.tasks,
    a2aTables.taskMessages,
    a2aTables.callerMessages,
    a2aTables.events,
    a2aTables.pushConfigs,
    a2aTables.pushOutbox,
  ],
  optional: true,
  migrateSqlite: (sqlite) => migrateA2A(sqlite),
}
