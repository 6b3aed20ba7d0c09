export type { ClaimThenWaitOptions, ClaimThenWaitSteps } from './claim-wait.js'
export { claimThenWait } from './claim-wait.js'
export { refuseSqliteFileOptions } from './postgres-url.js'
export type { SharedStoreOpener } from './shared-store.js'
export type { SpoolOptions } from './spool.js'
export { CLEANUP_BATCH, DEFAULT_IDEMPOTENCY_WINDOW_MS, Spool } from './spool.js'
export type { ConnectionOptions, DatabaseFileOptions } from './sqlite/database.js'
export {
  DIRECTORY_PATH,
  DISK_FULL,
  FOREIGN_DATABASE,
  hasTable,
  MISSING_DATABASE,
  NOT_A_FILE_PATH,
  openConnection,
  openReadOnlyConnection,
  prepareDatabaseFile,
  READ_ONLY_DATABASE,
  toStorageError,
  WAL_AUTOCHECKPOINT_PAGES,
  WAL_SIZE_LIMIT_BYTES,
} from './sqlite/database.js'
export type { ReleaseParams } from './sqlite/held.js'
export { releaseHeldMessages } from './sqlite/held.js'
export type { MigrateOptions, MigrationResult, MigrationSet } from './sqlite/migrate.js'
export { applyMigrations, writeShippedHashes } from './sqlite/migrate.js'
export type { SpoolDatabase } from './sqlite/query-builder.js'
export type { DeliveryRow, MessageRow } from './sqlite/schema.js'
export type { SqliteStoreOptions } from './sqlite/store.js'
export { SPOOL_MIGRATIONS_FOLDER, SqliteSpoolStore } from './sqlite/store.js'
// The store seam whole: `SpoolStore` and the params and outcomes of its methods, for store implementations.
// Its `ReleaseParams` is `StoreReleaseParams` here (the name is `releaseHeldMessages`'s, above).
export type * from './store.js'
export type { ReleaseParams as StoreReleaseParams } from './store.js'
export { isGroupTarget } from './targets.js'
// The spool's option and result types, every one public.
export type * from './types.js'
