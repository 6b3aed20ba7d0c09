import {
  AckResultSchema,
  AgentIdSchema,
  AgentProfileSchema,
  AgentStatusSchema,
  CapabilitySchema,
  ClaimedMessageSchema,
  ConversationSummarySchema,
  DEFAULT_CLAIM_LIMIT,
  DelaySecondsSchema,
  freeText,
  IdempotencyKeySchema,
  LeaseSecondsSchema,
  MAX_LEASE_SECONDS,
  MAX_LIST_LIMIT,
  MaxAttemptsSchema,
  MessageIdSchema,
  MessageV2Schema,
  NackReasonSchema,
  ReplySendersSchema,
  TransportKindSchema,
} from '@agent-comm/protocol'
import { z } from 'zod'

/**
 * The relay's wire contract, version 1: request and response bodies as zod schemas and the paths they go
 * to. The relay validates with these and builds its OpenAPI document from them; the client sends and
 * reads with them, so both sides agree by construction.
 */

/** Every API path starts with this. */
export const API_PREFIX = '/api/v1'

/** Most messages a claim hands out at once over HTTP. */
export const MAX_CLAIM_LIMIT = 100

/** Longest long-poll the relay holds a request open for, in ms. */
export const MAX_WAIT_MS = 30_000

/** Most messages in one batch send, and acks in one batch ack. */
export const MAX_BATCH_ITEMS = 1000

const enc = encodeURIComponent

/** Path builders: each returns the path (without query) a call goes to. Ids are percent-encoded. */
export const ApiPath = {
  health: `${API_PREFIX}/health`,
  openapi: `${API_PREFIX}/openapi.json`,
  messages: `${API_PREFIX}/messages`,
  messagesBatch: `${API_PREFIX}/messages/batch`,
  message: (messageId: string) => `${API_PREFIX}/messages/${enc(messageId)}`,
  agents: `${API_PREFIX}/agents`,
  agent: (agentId: string) => `${API_PREFIX}/agents/${enc(agentId)}`,
  heartbeat: (agentId: string) => `${API_PREFIX}/agents/${enc(agentId)}/heartbeat`,
  claim: (agentId: string) => `${API_PREFIX}/agents/${enc(agentId)}/claim`,
  claimReply: (agentId: string, requestId: string) =>
    `${API_PREFIX}/agents/${enc(agentId)}/replies/${enc(requestId)}/claim`,
  wait: (agentId: string) => `${API_PREFIX}/agents/${enc(agentId)}/wait`,
  stream: (agentId: string) => `${API_PREFIX}/agents/${enc(agentId)}/stream`,
  ackBatch: (agentId: string) => `${API_PREFIX}/agents/${enc(agentId)}/ack`,
  ack: (agentId: string, messageId: string) =>
    `${API_PREFIX}/agents/${enc(agentId)}/messages/${enc(messageId)}/ack`,
  nack: (agentId: string, messageId: string) =>
    `${API_PREFIX}/agents/${enc(agentId)}/messages/${enc(messageId)}/nack`,
  extend: (agentId: string, messageId: string) =>
    `${API_PREFIX}/agents/${enc(agentId)}/messages/${enc(messageId)}/extend`,
  conversations: `${API_PREFIX}/conversations`,
  conversation: (conversationId: string) => `${API_PREFIX}/conversations/${enc(conversationId)}`,
  adminStats: `${API_PREFIX}/admin/stats`,
  adminFailed: `${API_PREFIX}/admin/failed`,
  adminRetry: (messageId: string) => `${API_PREFIX}/admin/failed/${enc(messageId)}/retry`,
  adminAgents: `${API_PREFIX}/admin/agents`,
} as const

const ReceiptSchema = freeText().min(1).max(256)

/** Body of `POST /messages`: a complete message and how to deliver it. */
export const SendRequestSchema = z.strictObject({
  message: MessageV2Schema,
  /** Recipients of a `*` or `capability:<name>` message; without them the relay resolves them from its registry. */
  recipients: z.array(AgentIdSchema).min(1).max(10_000).optional(),
  delaySeconds: DelaySecondsSchema.optional(),
  maxAttempts: MaxAttemptsSchema.optional(),
  /**
   * For a `*` or `capability:<name>` message: also hold it, until it expires, for agents that register
   * with the relay later and match it (each gets it once; the sender never).
   */
  holdForFutureRecipients: z.boolean().optional(),
  /**
   * At most one enqueue per sender and key within the relay's window (24 h): a retry with the same key
   * gets the first message's id back with `duplicate: true`, whatever its own id.
   */
  idempotencyKey: IdempotencyKeySchema.optional(),
})

/** Body of `POST /messages`. */
export type SendRequest = z.input<typeof SendRequestSchema>

/** Body of `POST /messages/batch`: up to {@link MAX_BATCH_ITEMS} sends stored in one transaction, all or none. */
export const SendBatchRequestSchema = z.strictObject({
  items: z.array(SendRequestSchema).min(1).max(MAX_BATCH_ITEMS),
})

/** What one send of a batch did (the message itself is not echoed back). */
export const SendSummarySchema = z.object({
  messageId: z.string(),
  duplicate: z.boolean(),
  deliveries: z.number().int(),
  recipients: z.array(z.string()),
})

/** What one send of a batch did. */
export type SendSummary = z.output<typeof SendSummarySchema>

/** Response of `POST /messages/batch`, in the order of the request's items. */
export const SendBatchResponseSchema = z.object({ results: z.array(SendSummarySchema) })

/** How long a long poll may hold the request, in ms (0–30 000; 0: answer at once). */
const WaitMsSchema = z
  .number()
  .int('must be a whole number of milliseconds')
  .min(0, 'must not be negative')
  .max(MAX_WAIT_MS, `must be at most ${MAX_WAIT_MS}`)
  .default(0)

/** Body of `POST /agents/{agentId}/claim`. */
export const ClaimRequestSchema = z.strictObject({
  /** At most this many messages, 1–100 (10). */
  limit: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_CLAIM_LIMIT, `must be at most ${MAX_CLAIM_LIMIT}`)
    .default(DEFAULT_CLAIM_LIMIT),
  leaseSeconds: LeaseSecondsSchema.optional(),
  /** When nothing is waiting, hold the request up to this many ms and answer the moment a message arrives (0–30 000). */
  waitMs: WaitMsSchema,
})

/** Body of `POST /agents/{agentId}/claim`. */
export type ClaimRequest = z.input<typeof ClaimRequestSchema>

/** Response of a claim. */
export const ClaimResponseSchema = z.object({ messages: z.array(ClaimedMessageSchema) })

/** Body of `POST /agents/{agentId}/replies/{requestId}/claim`. */
export const ClaimReplyRequestSchema = z.strictObject({
  leaseSeconds: LeaseSecondsSchema.optional(),
  /** When no reply is waiting, hold the request up to this many ms and answer the moment one arrives (0–30 000). */
  waitMs: WaitMsSchema,
  /** Only a reply sent by one of these agents (the request's recipients); any sender's when absent. */
  from: ReplySendersSchema.optional(),
  /**
   * With `from`, also take the reply of the relay's operator (its admin id): set by an approval wait, since
   * the operator may decide any approval request in the console.
   */
  operator: z.boolean().optional(),
})

/** Body of `POST /agents/{agentId}/replies/{requestId}/claim`. */
export type ClaimReplyRequest = z.input<typeof ClaimReplyRequestSchema>

/** Response of a reply claim: the reply, leased, or null when none came. */
export const ClaimReplyResponseSchema = z.object({ message: ClaimedMessageSchema.nullable() })

const QueryInt = (min: number, max: number) =>
  z
    .string()
    // A minus sign is let through to the bound: `-1` is a whole number, and "must be at least 1" is what
    // the caller needs to hear.
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))

/** Query of `GET /agents/{agentId}/wait`. */
export const WaitQuerySchema = z.strictObject({
  /** How long to hold the request when nothing is waiting, 0–30 000 ms (0: answer at once). */
  timeoutMs: QueryInt(0, MAX_WAIT_MS).optional(),
})

/** Response of `GET /agents/{agentId}/wait`: whether the agent has a claimable message. It claims nothing. */
export const WaitResponseSchema = z.object({ available: z.boolean() })

/** Query of `GET /agents/{agentId}/stream`. */
export const StreamQuerySchema = z.strictObject({
  leaseSeconds: QueryInt(1, MAX_LEASE_SECONDS).optional(),
  /** Messages claimed per round (10). */
  limit: QueryInt(1, MAX_CLAIM_LIMIT).optional(),
})

/** Body of an ack. */
export const AckRequestSchema = z.strictObject({ receipt: ReceiptSchema.optional() })

/** Body of `POST /agents/{agentId}/ack`: many acks in one transaction, refused as a whole if any is. */
export const AckBatchRequestSchema = z.strictObject({
  items: z
    .array(z.strictObject({ messageId: MessageIdSchema, receipt: ReceiptSchema.optional() }))
    .min(1)
    .max(MAX_BATCH_ITEMS),
})

/** Response of `POST /agents/{agentId}/ack`: one result per item, in order. */
export const AckBatchResponseSchema = z.object({ results: z.array(AckResultSchema) })

/** Body of a nack. */
export const NackRequestSchema = z.strictObject({
  reason: NackReasonSchema.optional(),
  receipt: ReceiptSchema.optional(),
  delaySeconds: DelaySecondsSchema.optional(),
  deadLetter: z.boolean().optional(),
  /** The consumer never began on it: its claim's attempt is given back and it is visible again at once. */
  handBack: z.boolean().optional(),
})

/** Body of an extend-lease. */
export const ExtendRequestSchema = z.strictObject({
  receipt: ReceiptSchema.optional(),
  leaseSeconds: LeaseSecondsSchema.optional(),
})

/** Body of `PUT /agents/{agentId}`: the profile, its id taken from the path; status and times are the relay's. */
export const RegisterRequestSchema = AgentProfileSchema.omit({
  agentId: true,
  status: true,
  lastSeen: true,
  registeredAt: true,
})
  .strict()
  // A `file` profile names a folder on the relay's machine that local processes on its database would
  // write the agent's mail into: no caller of the relay chooses folders there.
  .refine((profile) => profile.transport !== 'file', {
    path: ['transport'],
    message:
      "must be 'sqlite' (receive at this relay) or 'http' (at another relay): a 'file' inbox is a folder on one machine, registered there with the CLI",
  })

/** Body of `PUT /agents/{agentId}`. */
export type RegisterRequest = z.input<typeof RegisterRequestSchema>

/** Query of `GET /agents`: every filter given must match. */
export const AgentListQuerySchema = z.strictObject({
  capability: CapabilitySchema.optional(),
  status: AgentStatusSchema.optional(),
  device: AgentProfileSchema.shape.device.unwrap().optional(),
  transport: TransportKindSchema.optional(),
})

/** Response of `GET /agents`. */
export const AgentListResponseSchema = z.object({ agents: z.array(AgentProfileSchema) })

/** Query of `GET /conversations`. */
export const ConversationsQuerySchema = z.strictObject({ limit: QueryInt(1, MAX_LIST_LIMIT).optional() })

/** A thread as listed by `GET /conversations` (the protocol's `ConversationSummarySchema`). */
export { ConversationSummarySchema }

/** Response of `GET /conversations`. */
export const ConversationsResponseSchema = z.object({ conversations: z.array(ConversationSummarySchema) })

/** Response of `GET /conversations/{conversationId}`: the messages of the thread the caller sent or received. */
export const ConversationResponseSchema = z.object({ messages: z.array(MessageV2Schema) })

/** Query of `GET /admin/failed`. */
export const FailedQuerySchema = z.strictObject({
  agent: AgentIdSchema.optional(),
  limit: QueryInt(1, MAX_LIST_LIMIT).optional(),
})

/** Body of `POST /admin/failed/{messageId}/retry`. */
export const RetryRequestSchema = z.strictObject({ agent: AgentIdSchema.optional() })

/** Response of `GET /health`. */
export const HealthResponseSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  database: z.enum(['ok', 'unreachable']),
  /**
   * True while the relay sheds requests for overload (503 with `Retry-After`); the health answer is then 503
   * too, so a load balancer sends work to other replicas. Absent from relays older than load shedding.
   */
  underPressure: z.boolean().optional(),
  uptimeSeconds: z.number(),
  version: z.string(),
})

/** Every error response: a stable code, what happened, and what to do. */
export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    hint: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
})

/** Every error response. */
export type ErrorResponse = z.output<typeof ErrorResponseSchema>

/**
 * Error codes the relay answers with besides the protocol's own (`VALIDATION`, `MESSAGE_NOT_FOUND`,
 * `LEASE_LOST`, …), which keep their meaning.
 */
export const RelayErrorCode = {
  /** 401: missing or malformed auth headers, unknown agent, revoked or wrong secret (told apart only in the relay's log). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** 401: the request's timestamp is outside the relay's window; check the clock. */
  AUTH_TIMESTAMP: 'AUTH_TIMESTAMP',
  /** 409: this nonce was already used; a replayed or duplicated request. */
  AUTH_REPLAY: 'AUTH_REPLAY',
  /** 403: authenticated, but this agent may not do this (another agent's inbox, sending as another agent). */
  FORBIDDEN: 'FORBIDDEN',
  /** 404: no such endpoint. */
  NOT_FOUND: 'NOT_FOUND',
  /** 413: the body is larger than the relay accepts. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** 415: the body is not `application/json`. */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** 429: this agent sent too many requests; wait `Retry-After` seconds. */
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * 429: this agent already holds as many long polls and event streams open on this relay as it allows
   * (`--max-waits`); nothing was claimed. Retry once one has ended, after `Retry-After` seconds.
   */
  TOO_MANY_WAITS: 'TOO_MANY_WAITS',
  /**
   * 503: the relay is shutting down, its database is unavailable, or it is overloaded (then
   * `details.overloaded` is true and nothing was done); retry after `Retry-After` seconds.
   */
  UNAVAILABLE: 'UNAVAILABLE',
  /** 500: the relay failed; the details are in its log under the request id. */
  INTERNAL: 'INTERNAL',
} as const

/** A relay-specific error code. */
export type RelayErrorCode = (typeof RelayErrorCode)[keyof typeof RelayErrorCode]
