// The registrable-id rule is the protocol's (relay secrets are refused for the same ids); re-exported here.
export { assertRegistrableAgentId, RESERVED_AGENT_ID_PREFIXES } from '@agent-comm/protocol'
export { registryCopySection } from './copy-section.js'
export { REGISTRY_MIGRATIONS_FOLDER, REGISTRY_MIGRATIONS_TABLE } from './migrations.js'
export type { ListFilter, RegistryOptions } from './options.js'
export {
  DEFAULT_ACTIVE_WINDOW_MS,
  DEFAULT_OFFLINE_AFTER_MS,
  ListFilterSchema,
} from './options.js'
export { Registry } from './registry.js'
export type { SqliteRegistryStoreOptions } from './sqlite-store.js'
export { SqliteRegistryStore } from './sqlite-store.js'
export type { PresenceWindows } from './status.js'
export { deriveStatus } from './status.js'
export type {
  AgentColumns,
  AgentRecord,
  ListAgentsParams,
  RegistryStore,
  UpsertAgentParams,
} from './store.js'
export { registryTables } from './tables.js'
