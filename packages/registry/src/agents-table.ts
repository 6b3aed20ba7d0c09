import { TRANSPORT_KINDS } from '@agent-comm/protocol'
import { describeTable } from '@agent-comm/spool/store'

/**
 * The registry's `agents` table, described once for the SQLite registry (`schema.ts`) and the PostgreSQL
 * one of `@agent-comm/postgres`: one row per registered agent. Presence is not stored as a status: it is
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
export const agentsTable = describeTable({
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
