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
export type { PostgresMigrationResult } from './migrate.js'
export { applyPostgresMigrations, POSTGRES_MIGRATIONS_FOLDER, validateSchemaName } from './migrate.js'
export type { OpenPostgresSpoolStoreOptions } from './open.js'
export { openPostgresSpoolStore } from './open.js'
export type { OpenPostgresOptions, PostgresDatabase } from './open-postgres.js'
export { openPostgres } from './open-postgres.js'
export type { PostgresRegistryStoreOptions } from './registry-store.js'
export { PostgresRegistryStore } from './registry-store.js'
export type {
  OpenPostgresConsoleStoreOptions,
  PostgresAuditRecord,
  PostgresConsoleSession,
} from './relay/console-store.js'
export { openPostgresConsoleStore, PostgresConsoleStore } from './relay/console-store.js'
export type { NonceCommit, PostgresNonceStoreOptions } from './relay/nonce-store.js'
export { PostgresNonceStore } from './relay/nonce-store.js'
export type { OpenPostgresRelayStoresOptions, PostgresRelayStores } from './relay/open-relay-stores.js'
export { openPostgresRelayStores } from './relay/open-relay-stores.js'
export type {
  PostgresIssuedSecret,
  PostgresSecretInfo,
  PostgresSecretStoreOptions,
} from './relay/secret-store.js'
export { PostgresSecretStore } from './relay/secret-store.js'
export { RelaySecretsKey } from './relay/secrets-key.js'
export { DEFAULT_SCHEMA } from './schema.js'
export { ServerClock } from './server-clock.js'
export type { ClaimCommit } from './statements.js'
export type { PostgresSpoolStoreOptions } from './store.js'
export { notifyChannel, PostgresSpoolStore } from './store.js'
