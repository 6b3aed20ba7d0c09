import { sqliteTableOf } from '@agent-comm/spool/sqlite-table'
import { registryTables } from './tables.js'

// The SQLite registry's tables, built from the descriptions both dialects share (`tables.ts`).

/** One row per registered agent; presence is derived from `last_seen` and `offline_at`, never stored. */
export const agents = sqliteTableOf(registryTables.agents)

/** The capabilities of each agent, one row per (agent, capability), in the order the agent listed them. */
export const agentCapabilities = sqliteTableOf(registryTables.agentCapabilities, { referenced: { agents } })

/** A stored agent row. */
export type AgentRow = typeof agents.$inferSelect
