export type { ClaimThenWaitOptions, ClaimThenWaitSteps } from './claim-wait.js'
export { claimThenWait } from './claim-wait.js'
export { refuseSqliteFileOptions } from './postgres-url.js'
export type { SpoolOptions } from './spool.js'
export { DEFAULT_IDEMPOTENCY_WINDOW_MS, Spool } from './spool.js'
export { sqliteConnection } from './sqlite/connection.js'
export type { ConnectionOptions, DatabaseFileOptions } from './sqlite/database.js'
export {
  FOREIGN_DATABASE,
  MISSING_DATABASE,
  openConnection,
  openReadOnlyConnection,
  prepareDatabaseFile,
  READ_ONLY_DATABASE,
  toStorageError,
} from './sqlite/database.js'
export type { ReleaseParams } from './sqlite/held.js'
export { releaseHeldMessages } from './sqlite/held.js'
export type { MigrateOptions, MigrationResult, MigrationSet } from './sqlite/migrate.js'
export { applyMigrations } from './sqlite/migrate.js'
export type { SpoolDatabase } from './sqlite/query-builder.js'
export type { DeliveryRow, MessageRow } from './sqlite/schema.js'
export type { SqliteStoreOptions } from './sqlite/store.js'
export { SPOOL_MIGRATIONS_FOLDER, SqliteSpoolStore } from './sqlite/store.js'
export type {
  AckAndClaimOutcome,
  AckAndClaimParams,
  AckManyOutcome,
  AckManyParams,
  ChangeOutcome,
  ClaimedRecord,
  ClaimMessageParams,
  ClaimOutcome,
  ClaimParams,
  ClaimReplyParams,
  ConversationParams,
  ConversationsParams,
  DeliveryParams,
  DeliveryRecord,
  DeliveryState,
  ExtendLeaseOutcome,
  ExtendLeaseParams,
  HoldMessageParams,
  InsertMessagesOutcome,
  InsertMessagesParams,
  InsertResult,
  MessageRecord,
  ReleaseHeldParams,
  ReleaseOutcome,
  ReleaseParams as StoreReleaseParams,
  RequeueFailedOutcome,
  RequeueFailedParams,
  SpoolStore,
  StoredSend,
  StoreSearchParams,
  WithdrawParams,
} from './store.js'
export { isGroupTarget } from './targets.js'
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
