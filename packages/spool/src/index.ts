export type { ConnectionOptions, DatabaseFileOptions } from './database.js'
export {
  FOREIGN_DATABASE,
  MISSING_DATABASE,
  openConnection,
  openReadOnlyConnection,
  prepareDatabaseFile,
  READ_ONLY_DATABASE,
  toStorageError,
} from './database.js'
export type { ReleaseParams } from './held.js'
export { releaseHeldMessages } from './held.js'
export type { MigrateOptions, MigrationResult, MigrationSet } from './migrate.js'
export { applyMigrations } from './migrate.js'
export type { DeliveryRow, MessageRow } from './schema.js'
export { deliveries, messages } from './schema.js'
export type { SpoolDatabase, SpoolOptions } from './spool.js'
export { SPOOL_MIGRATIONS_FOLDER, Spool } from './spool.js'
export type {
  AckManyOutcome,
  AckManyParams,
  ChangeOutcome,
  ClaimedRecord,
  ClaimOutcome,
  ClaimParams,
  DeliveryParams,
  DeliveryState,
  ExtendLeaseOutcome,
  ExtendLeaseParams,
  HoldMessageParams,
  InsertMessagesOutcome,
  InsertMessagesParams,
  MessageRecord,
  ReleaseHeldParams,
  ReleaseOutcome,
  ReleaseParams as StoreReleaseParams,
  RequeueFailedOutcome,
  RequeueFailedParams,
  SpoolStore,
  StoredSend,
  StoreSearchParams,
} from './store.js'
export type {
  AckOptions,
  AckResult,
  ClaimedMessage,
  ClaimOptions,
  CleanupOptions,
  CleanupReport,
  ConversationSummary,
  DeliveryInfo,
  ExtendLeaseOptions,
  FailedDelivery,
  Lease,
  MessageDelivery,
  MessageStatus,
  NackOptions,
  NackResult,
  PendingDelivery,
  SearchQuery,
  SendOptions,
  SendResult,
  SpoolStats,
  StoredMessage,
  UnreadableColumn,
  VerifyReport,
  WaitOptions,
} from './types.js'
