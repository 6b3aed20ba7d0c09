export type {
  ClaimRequest,
  ErrorResponse,
  RegisterRequest,
  SendRequest,
  SendSummary,
} from './api.js'
export {
  AckBatchRequestSchema,
  AckBatchResponseSchema,
  AckRequestSchema,
  AgentListQuerySchema,
  AgentListResponseSchema,
  API_PREFIX,
  ApiPath,
  ClaimReplyRequestSchema,
  ClaimReplyResponseSchema,
  ClaimRequestSchema,
  ClaimResponseSchema,
  ConversationResponseSchema,
  ConversationSummarySchema,
  ConversationsQuerySchema,
  ConversationsResponseSchema,
  ErrorResponseSchema,
  ExtendRequestSchema,
  FailedQuerySchema,
  HealthResponseSchema,
  MAX_BATCH_ITEMS,
  MAX_CLAIM_LIMIT,
  MAX_WAIT_MS,
  NackRequestSchema,
  RegisterRequestSchema,
  RelayErrorCode,
  RetryRequestSchema,
  SendBatchRequestSchema,
  SendBatchResponseSchema,
  SendRequestSchema,
  SendSummarySchema,
  StreamQuerySchema,
  WaitQuerySchema,
  WaitResponseSchema,
} from './api.js'
// The option and result types of RelayClient's calls (CallOptions, AsAgentOptions, ClaimOptions,
// NackOptions, ExtendOptions, AgentListOptions, BatchItem, RelayHealth, RelayConversation): that file holds
// nothing else.
export type * from './endpoints/call-options.js'
export {
  hasPlainSecretEnvName,
  noRelaySecret,
  SECRET_ENV_PREFIX,
  secretEnvName,
  secretFromEnv,
} from './env.js'
export { errorFromResponse, explainOlderRelay, OLDER_RELAY, RelayError, type RelayRequest } from './errors.js'
export type { AuthHeaderProblem, AuthHeaders, SignedRequestParts, SignRequestInput } from './hmac.js'
export {
  AUDIENCE_PATTERN,
  AUTH_SCHEME,
  AUTH_SCHEME_V2,
  AuthHeader,
  bodyDigest,
  canonicalRequest,
  computeSignature,
  DEFAULT_AUTH_WINDOW_MS,
  newNonce,
  readAuthHeaders,
  signRequest,
  verifySignature,
} from './hmac.js'
export type { HttpTransportOptions } from './http-transport.js'
export { HttpTransport } from './http-transport.js'
export type { RelayClientOptions } from './relay-client.js'
export { RelayClient } from './relay-client.js'
export { DEFAULT_MAX_RESPONSE_BYTES } from './response-body.js'
export type { ServerSentEvent } from './sse.js'
export { parseServerSentEvents } from './sse.js'
