import { TRANSPORT_KINDS } from '@agent-comm/protocol'
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * One row per registered agent. Presence is not stored as a status: it is derived from `last_seen` (and
 * `offline_at`) whenever a profile is read, so it can never go stale.
 *
 * `last_seen` deliberately has no index: `touch` rewrites it on every send, poll and ack, and a registry
 * holds agents by the thousand, not the million, so a status filter reads the table faster than every
 * touch would pay to keep an index current.
 */
export const agents = sqliteTable('agents', {
  agentId: text('agent_id').primaryKey(),
  device: text('device').notNull(),
  transport: text('transport', { enum: TRANSPORT_KINDS }).notNull(),
  relayUrl: text('relay_url'),
  inboxDir: text('inbox_dir'),
  /** JSON of the metadata object. */
  metadata: text('metadata').notNull(),
  /** First registration, ms since epoch; kept when the agent registers again. */
  registeredAt: integer('registered_at').notNull(),
  /** Last sign of life (register, heartbeat, touch), ms since epoch. */
  lastSeen: integer('last_seen').notNull(),
  /** When the agent was explicitly marked offline, or null; cleared by register and heartbeat. */
  offlineAt: integer('offline_at'),
})

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
