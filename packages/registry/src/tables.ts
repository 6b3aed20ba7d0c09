import { TRANSPORT_KINDS } from '@agent-comm/protocol'
import { describeTable } from '@agent-comm/spool/table-description'

// The registry's tables, described once: the SQLite registry builds them with `sqliteTableOf`
// (`schema.ts`), the PostgreSQL one of `@agent-comm/postgres` with `pgTableOf`, in the spool's schema.

/**
 * One row per registered agent. Presence is not stored as a status: it is
 * derived from `last_seen` (and `offline_at`) whenever a profile is read, so it can never go stale.
 * `metadata` is the JSON of the metadata object, kept as written; `registered_at` the first registration
 * (kept when the agent registers again), `last_seen` the last sign of life (register, heartbeat, touch),
 * `offline_at` when the agent was explicitly marked offline (cleared by register and heartbeat), all ms
 * since the epoch.
 *
 * `last_seen` deliberately has no index: `touch` rewrites it on every send, poll and ack, and a registry
 * holds agents by the thousand, not the million, so a status filter reads the table faster than every
 * touch would pay to keep an index current.
 */
const agents = describeTable({
  name: 'agents',
  columns: {
    agentId: { name: 'agent_id', kind: 'text', primaryKey: true },
    device: { name: 'device', kind: 'text', notNull: true },
    transport: { name: 'transport', kind: 'text', enum: TRANSPORT_KINDS, notNull: true },
    relayUrl: { name: 'relay_url', kind: 'text' },
    inboxDir: { name: 'inbox_dir', kind: 'text' },
    metadata: { name: 'metadata', kind: 'text', notNull: true },
    registeredAt: { name: 'registered_at', kind: 'epochMs', notNull: true },
    lastSeen: { name: 'last_seen', kind: 'epochMs', notNull: true },
    offlineAt: { name: 'offline_at', kind: 'epochMs' },
  },
})

/**
 * The capabilities of each agent, one row per (agent, capability), so that "who can review?" is an index
 * lookup on `capability` rather than a scan of every profile. `position` keeps the order the agent listed
 * them in. The capability index covers the lookup entirely: the agent ids come straight out of it.
 */
const agentCapabilities = describeTable({
  name: 'agent_capabilities',
  columns: {
    agentId: {
      name: 'agent_id',
      kind: 'text',
      notNull: true,
      references: { table: 'agents', column: 'agentId', onDelete: 'cascade' },
    },
    capability: { name: 'capability', kind: 'text', notNull: true },
    position: { name: 'position', kind: 'integer', notNull: true },
  },
  primaryKey: ['agentId', 'capability'],
  indexes: { agent_capabilities_capability_idx: ['capability', 'agentId'] },
})

/** The registry's tables, described once for both dialects. */
export const registryTables = { agents, agentCapabilities }
