/**
 * `@agent-comm/postgres`: the spool's storage on PostgreSQL. {@link openPostgresSpoolStore} opens a
 * {@link PostgresSpoolStore} (node-postgres, prepared statements) for `Spool.open({ store })`; the
 * {@link SqlClient} seam lets it run on another driver (PGlite in tests: `@agent-comm/postgres/testing`).
 */

export type { SqlClient, SqlQueryable } from './client.js'
export { postgresDatabaseIdentity } from './database-identity.js'
export { redactUrl, type StorageFailureReason, sqlStateOf } from './drivers/driver-errors.js'
export { createNodePostgresClient, type NodePostgresClientOptions } from './drivers/node-postgres.js'
export { dropPostgresSchema } from './drop-schema.js'
export {
  applyPostgresMigrations,
  POSTGRES_MIGRATIONS_FOLDER,
  type PostgresMigrationResult,
  validateSchemaName,
} from './migrate.js'
export { type OpenPostgresSpoolStoreOptions, openPostgresSpoolStore } from './open.js'
export { type OpenPostgresOptions, openPostgres, type PostgresDatabase } from './open-postgres.js'
export { PostgresRegistryStore, type PostgresRegistryStoreOptions } from './registry-store.js'
export {
  type OpenPostgresConsoleStoreOptions,
  openPostgresConsoleStore,
  type PostgresAuditRecord,
  type PostgresConsoleSession,
  PostgresConsoleStore,
} from './relay/console-store.js'
export { type NonceCommit, PostgresNonceStore, type PostgresNonceStoreOptions } from './relay/nonce-store.js'
export {
  type OpenPostgresRelayStoresOptions,
  openPostgresRelayStores,
  type PostgresRelayStores,
} from './relay/open-relay-stores.js'
export {
  type PostgresIssuedSecret,
  type PostgresSecretInfo,
  PostgresSecretStore,
  type PostgresSecretStoreOptions,
} from './relay/secret-store.js'
export { RelaySecretsKey } from './relay/secrets-key.js'
export { DEFAULT_SCHEMA } from './schema.js'
export { ServerClock } from './server-clock.js'
export type { ClaimCommit } from './statements.js'
export { notifyChannel, PostgresSpoolStore, type PostgresSpoolStoreOptions } from './store.js'
