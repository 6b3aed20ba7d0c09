/**
 * `@agent-comm/spool/store`: what a {@link SpoolStore} implementation needs to give the same read results as
 * the SQLite store — the seam's types, the row readers, and the builders of stats and conversation
 * summaries. A spool runs on such a store with `Spool.open({ store })`.
 */
export type { MessageColumnValues } from './rows.js'
export {
  checkedMessageFromRow,
  deliveryFromRow,
  messageColumnValues,
  storedMessageFromRow,
} from './rows.js'
export { editedMigrationFiles } from './sqlite/migrate.js'
// Every type of the seam, as `store.ts` declares them: an implementer needs them all.
export type * from './store.js'
export type { ConversationRecord, ConversationRow, StatsCounts } from './summaries.js'
export { conversationSummaryFromRecord, conversationSummaryFromRow, statsFromCounts } from './summaries.js'
export { isGroupTarget } from './targets.js'
export type {
  CleanupReport,
  ConversationSummary,
  DeliveryInfo,
  FailedDelivery,
  MessageDelivery,
  MessageStatus,
  PendingDelivery,
  SpoolStats,
  StoredMessage,
  UnreadableColumn,
  VerifyReport,
} from './types.js'
