// The console's storage seam is defined beside the spool, whose database it shares, so the PostgreSQL
// store of `@agent-comm/postgres` implements the same interface without importing the relay.
export type {
  AuditRecord,
  ConsoleSessionRecord,
  ConsoleStore,
  PendingApprovalRef,
} from '@agent-comm/spool/console-store'
