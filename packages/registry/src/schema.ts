import { sqliteTableOf } from '@agent-comm/spool/store'
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { agentsTable } from './agents-table.js'

/** One row per registered agent (see {@link agentsTable}, the description it is built from). */
export const agents = sqliteTableOf(agentsTable)

/**
 * The capabilities of each agent, one row per (agent, capability), so that "who can review?" is an index
 * lookup on `capability` rather than a scan of every profile. `position` keeps the order the agent listed
 * them in.
 */
export const agentCapabilities = sqliteTable(
  'agent_capabilities',
  {
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.agentId, { onDelete: 'cascade' }),
    capability: text('capability').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.agentId, t.capability] }),
    // Covers the capability lookup entirely: the agent ids come straight out of the index.
    index('agent_capabilities_capability_idx').on(t.capability, t.agentId),
  ],
)

/** A stored agent row. */
export type AgentRow = typeof agents.$inferSelect
