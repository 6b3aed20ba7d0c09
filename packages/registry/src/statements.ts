import { eq, sql } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { PROFILE_COLUMNS } from './rows.js'
import type * as schema from './schema.js'
import { agents } from './schema.js'

/** The registry's drizzle database. */
export type RegistryDatabase = BetterSQLite3Database<typeof schema>

/**
 * The reads every message pays for (the coordinator checks the recipient and touches the sender on each
 * send, poll and ack), prepared once per connection. Both are primary-key lookups.
 */
export function prepareStatements(db: RegistryDatabase) {
  const agentId = sql.placeholder('agentId')
  return {
    profileById: db.select(PROFILE_COLUMNS).from(agents).where(eq(agents.agentId, agentId)).prepare(),
    lastSeenById: db
      .select({ lastSeen: agents.lastSeen })
      .from(agents)
      .where(eq(agents.agentId, agentId))
      .prepare(),
  }
}

/** The prepared statements of one connection. */
export type RegistryStatements = ReturnType<typeof prepareStatements>
