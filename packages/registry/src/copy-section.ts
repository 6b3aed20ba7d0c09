import type { CopySection } from '@agent-comm/spool/copy'
import { migrateRegistry } from './migrations.js'
import { registryTables } from './tables.js'

/**
 * The registry's part of a database copy (`agent-comm db copy`): its agents (profile, transport, metadata,
 * registration and presence times, offline mark) and their capabilities in the agent's order, made in a
 * SQLite destination by the registry's own migrations.
 */
export const registryCopySection: CopySection = {
  name: 'registry',
  tables: [registryTables.agents, registryTables.agentCapabilities],
  migrateSqlite: (sqlite) => migrateRegistry(sqlite, sqlite.name),
}
