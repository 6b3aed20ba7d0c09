export type { AgentProfile, AgentProfileInput, AgentStatus, TransportKind } from './agent.js'
export {
  AGENT_STATUSES,
  AgentProfileSchema,
  AgentRegistrationSchema,
  AgentStatusSchema,
  CapabilitySchema,
  TRANSPORT_KINDS,
  TransportKindSchema,
} from './agent.js'
export type {
  ApprovalExpiryPolicy,
  ApprovalRequest,
  ApprovalRequestInput,
  ApprovalResponse,
} from './approval.js'
export {
  APPROVAL_DECIDERS,
  ApprovalExpiryPolicySchema,
  ApprovalRequestSchema,
  ApprovalResponseSchema,
  approvalDecisionProblem,
  assertApprovalDecision,
  EXPIRY_DECIDER,
} from './approval.js'
export {
  DEFAULT_AUTH_WINDOW_MS,
  DEFAULT_CLAIM_LIMIT,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_LIST_LIMIT,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_OPERATOR_ID,
  DEFAULT_POOL_SIZE,
  DEFAULT_REPLY_TIMEOUT_MS,
  DEFAULT_TTL_HOURS,
  MAX_CLAIM_LIMIT,
  MAX_DELAY_SECONDS,
  MAX_DELIVERY_ATTEMPTS,
  MAX_LEASE_SECONDS,
  MAX_LIST_LIMIT,
  MAX_NACK_REASON_LENGTH,
  MAX_POLL_WAIT_MS,
  MAX_POOL_SIZE,
  MAX_PORT,
  MAX_ROTATION_GRACE_SECONDS,
  MAX_TIMER_MS,
  MAX_TTL_HOURS,
  MIN_LEASE_SECONDS,
} from './bounds.js'
export type { Clock } from './clock.js'
export { delay, ManualClock, systemClock } from './clock.js'
export { closeOnFailure } from './close-on-failure.js'
export type {
  AckResult,
  DeliveryInfo,
  DeliveryStatus,
  ExtendLeaseResult,
  Lease,
  NackResult,
} from './delivery.js'
export {
  AckResultSchema,
  DELIVERY_STATUSES,
  DeliveryInfoSchema,
  DeliveryStatusSchema,
  ExtendLeaseResultSchema,
  LeaseSchema,
  NackResultSchema,
} from './delivery.js'
export type { AgentCommErrorOptions } from './errors.js'
export {
  AgentCommError,
  AgentNotFoundError,
  ClosedError,
  ConfigError,
  ConflictError,
  DeliveryNotFoundError,
  ErrorCode,
  errorMessage,
  ForbiddenError,
  InvalidStateError,
  isAgentCommError,
  isTransientStorageError,
  isUnavailableError,
  LeaseLostError,
  MessageNotFoundError,
  NoRecipientsError,
  parseOrThrow,
  RequestAbortedError,
  RequestTimeoutError,
  SchemaVersionError,
  StorageError,
  type StorageErrorOptions,
  toValidationError,
  ValidationError,
} from './errors.js'
export type { AgentId } from './identifiers.js'
export {
  A2A_CALLER_PREFIX,
  AgentIdSchema,
  assertRegistrableAgentId,
  BROADCAST_TARGET,
  CAPABILITY_TARGET_PREFIX,
  ConversationIdSchema,
  IdempotencyKeySchema,
  isAgentId,
  isSafeId,
  MessageIdSchema,
  RESERVED_AGENT_ID_PREFIXES,
  RecipientSchema,
} from './identifiers.js'
export { IdGenerator, newConversationId, newMessageId } from './ids.js'
export type { JsonLimit, JsonLimitBreach } from './json-limits.js'
export { checkJsonLimits } from './json-limits.js'
export { jsonParseErrorPosition } from './json-parse-error.js'
export { Limits, utf8Length } from './limits.js'
export { type ListenProblem, listenProblem } from './listen-problems.js'
export type { Logger, LogLevel } from './logger.js'
export { createLineLogger, DEFAULT_LOG_LEVEL, LOG_LEVELS, readLogLevel, silentLogger } from './logger.js'
export type {
  ClaimedMessage,
  MessageFactoryDeps,
  MessageInput,
  MessageStatus,
  MessageV2,
  SendResult,
} from './message.js'
export {
  ClaimedMessageSchema,
  createMessage,
  decidedBySenderProblem,
  expiresAt,
  isBroadcast,
  MessageInputSchema,
  MessageStatusSchema,
  MessageV2Schema,
  PROTOCOL_VERSION,
  parseMessage,
  SendResultSchema,
  sentOrReceivedBy,
} from './message.js'
export {
  AckOptionsSchema,
  ClaimLimitSchema,
  ClaimOptionsSchema,
  ClaimReplyOptionsSchema,
  claimLimitSchema,
  DelaySecondsSchema,
  ExtendLeaseOptionsSchema,
  LeaseSecondsSchema,
  ListLimitOptionSchema,
  ListLimitSchema,
  MaxAttemptsSchema,
  NackOptionsSchema,
  NackReasonSchema,
  PollWaitMsSchema,
  ReplySendersSchema,
  TransportSendOptionsSchema,
  WaitOptionsSchema,
} from './operation-options.js'
export type { JsonObject, JsonValue, Payload, PayloadType } from './payload.js'
export {
  JsonObjectSchema,
  JsonValueSchema,
  PAYLOAD_TYPES,
  PayloadSchema,
  PayloadTypeSchema,
} from './payload.js'
export type { Priority } from './priority.js'
export { PRIORITIES, PriorityInput, PrioritySchema, priorityFromRank, priorityRank } from './priority.js'
export type { CleanupReport, ConversationSummary, MessageDelivery, SpoolStats } from './queries.js'
export {
  CleanupReportSchema,
  ConversationSummarySchema,
  MessageDeliverySchema,
  SpoolStatsSchema,
} from './queries.js'
export { RandomPool } from './random.js'
export { redactUrl, redactUrlsIn, urlPassword, urlSecrets } from './redact-url.js'
export type { ReplyableMessage, ReplyThread, RoutingInfo } from './routing.js'
export { RoutingInfoSchema, replyThread, TtlHoursSchema } from './routing.js'
export { assertNoNul, freeText, LONE_SURROGATE_MESSAGE, NUL_CHARACTER_MESSAGE } from './text.js'
export type { TraceMetadata, TraceparentFields } from './trace-context.js'
export {
  assertTraceMetadata,
  formatTraceparent,
  parseTraceparent,
  TRACE_METADATA_KEY,
  TraceMetadataSchema,
  traceMetadataOf,
} from './trace-context.js'
export type {
  Transport,
  TransportClaimOptions,
  TransportClaimReplyOptions,
  TransportNackOptions,
  TransportSendOptions,
} from './transport.js'
