/**
 * The typed errors the coordinator throws, and the message types its methods take and return: the
 * protocol's own (the same classes, so `instanceof` holds), re-exported so an app that installed only the
 * coordinator can catch them without depending on `@agent-comm/protocol` itself.
 */
export type {
  AckResult,
  AgentProfile,
  AgentProfileInput,
  ClaimedMessage,
  Clock,
  MessageInput,
  MessageStatus,
  MessageV2,
  NackResult,
} from '@agent-comm/protocol'
// Every error class and predicate of the protocol's zod-free errors entry, listed once, there.
export * from '@agent-comm/protocol/errors'
export type { CoordinatorConfig } from './config.js'
export { CONFIG_VARIABLES, loadConfig } from './config.js'
export type {
  CoordinatorDeps,
  CoordinatorSettings,
  CoordinatorStorage,
  MessageRef,
  PollOptions,
  ReplyFields,
  RequestOptions,
  SendOptions,
  SendReport,
} from './coordinator.js'
export { Coordinator } from './coordinator.js'
export { describeDatabase, isPostgresUrl, readDatabaseFile } from './database-url.js'
export type { CreateCoordinatorOptions } from './open.js'
export { createCoordinator } from './open.js'
export type { AwaitReplyOptions } from './request.js'
export { DEFAULT_REPLY_TIMEOUT_MS, ReplyWaitUnavailableError } from './request.js'
export type { DefaultRoute, TransportFactory, TransportSet } from './routing.js'
export { TransportRouter } from './routing.js'
export { describeAgentTransports } from './setup-summary.js'
export {
  contextFromTraceMetadata,
  messageTraceContext,
  traceMetadataOfContext,
} from './tracing.js'
