export type { A2ABridgeOptions } from './a2a-bridge.js'
export { A2ABridge } from './a2a-bridge.js'
export type { RemoteAgentCard } from './a2a-card.js'
export { fetchAgentCard, RemoteAgentCardSchema } from './a2a-card.js'
export type { A2ARemoteTask, A2ASessions } from './a2a-sessions.js'
export {
  A2A_TOKEN_ENV,
  a2aTokenEnvName,
  a2aTokenFromEnv,
  ConversationA2ASessions,
  InMemoryA2ASessions,
} from './a2a-sessions.js'
export type { Availability, Bridge, BridgeContext, BridgeResult } from './bridge.js'
export { DEFAULT_HEALTH_TIMEOUT_MS, DEFAULT_MAX_REPLY_BYTES, describeError } from './bridge.js'
export type { CommandBridgeOptions } from './command-bridge.js'
export { CommandBridge, commandExists } from './command-bridge.js'
export { failureReason, MAX_FAILURE_REASON_LENGTH, redactUrlsIn } from './failure-reason.js'
export type { HandlerOutput, MessageHandler } from './function-bridge.js'
export { FunctionBridge } from './function-bridge.js'
export type { HttpBridgeOptions } from './http-bridge.js'
export { HttpBridge } from './http-bridge.js'
export type { BridgeCoordinator, BridgeEvent, BridgeRunnerOptions, RunSummary } from './runner.js'
export { BridgeRunner, MAX_INTERVAL_MS, MAX_TIMER_MS, replyIdFor, replyKeyFor } from './runner.js'
