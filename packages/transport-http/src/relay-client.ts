import type {
  AckResult,
  AgentProfile,
  AgentProfileInput,
  ClaimedMessage,
  Clock,
  ExtendLeaseResult,
  Logger,
  MessageStatus,
  MessageV2,
  NackResult,
  SendResult,
  TraceMetadata,
} from '@agent-comm/protocol'
import {
  AckResultSchema,
  AgentCommError,
  AgentIdSchema,
  AgentProfileSchema,
  ClosedError,
  ConfigError,
  DEFAULT_CLAIM_LIMIT,
  ErrorCode,
  ExtendLeaseResultSchema,
  MessageStatusSchema,
  NackResultSchema,
  parseOrThrow,
  SendResultSchema,
  silentLogger,
  systemClock,
  traceMetadataOf,
  ValidationError,
} from '@agent-comm/protocol'
import { type Dispatcher, Pool } from 'undici'
import { z } from 'zod'
import {
  AckBatchResponseSchema,
  AgentListResponseSchema,
  ApiPath,
  ConversationResponseSchema,
  type ConversationSummarySchema,
  ConversationsResponseSchema,
  HealthResponseSchema,
  MAX_CLAIM_LIMIT,
  MAX_WAIT_MS,
  type RegisterRequest,
  RelayErrorCode,
  SendBatchResponseSchema,
  type SendRequest,
  type SendSummary,
  WaitResponseSchema,
} from './api.js'
import { type CoalescedCall as Coalesced, Coalescer, type Outcome, settle } from './coalesce.js'
import { secretEnvName } from './env.js'
import { errorFromResponse, RelayError } from './errors.js'
import { AUDIENCE_PATTERN, signRequest } from './hmac.js'
import { parseServerSentEvents } from './sse.js'
import { traceHeaders } from './trace-headers.js'
import {
  ClaimEnvelopeSchema,
  type ReadDelivery,
  readDelivery,
  readDeliveryText,
  type UnreadableDelivery,
} from './unreadable-deliveries.js'

/** How to reach a relay and sign for agents. */
export interface RelayClientOptions {
  /**
   * The relay's base URL, e.g. `http://relay.internal:8420` (a path prefix is kept and signed) — or several,
   * as a list or comma-separated, for a relay run as replicas without one address in front: a request that
   * cannot reach one is retried on the next (a send is never duplicated: its message id is the client's,
   * and the relay answers a second send of it as a duplicate).
   */
  baseUrl: string | URL | readonly (string | URL)[]
  /**
   * The secret of an agent, or `undefined` if this process holds none for it. Composition roots usually
   * pass `(id) => secretFromEnv(process.env, id)`.
   */
  secretFor: (agentId: string) => string | undefined
  /** Signs request timestamps; must be within the relay's window (5 minutes) of the relay's clock. */
  clock?: Clock
  /** Most keep-alive connections to the relay (64). Long polls and streams each hold one while open. */
  connections?: number
  /** Retries of a call that failed to reach the relay (3); see {@link RelayClient} for which calls retry. */
  retries?: number
  /** First retry delay in ms, doubled each retry, with jitter (50). */
  retryDelayMs?: number
  /** Longest wait for a response, in ms (15 000); long polls add their own wait to it. */
  timeoutMs?: number
  /** A dispatcher to send through instead of the client's own keep-alive pool (not closed by {@link close}). */
  dispatcher?: Dispatcher
  /**
   * Let concurrent calls share requests (true): sends from one agent, claims of one agent (without a long
   * poll) and acks of one agent made in the same event-loop turn go to the relay as one batch request, and
   * each caller still gets its own result or error. A lone call is sent as it is. See {@link RelayClient}.
   */
  coalesce?: boolean
  /**
   * Where the client reports a claimed delivery it cannot read (one that breaks the protocol, e.g. written
   * to the relay's database by an older version): it is dead-lettered on its own and the claim returns the
   * others. Silent by default; the reason is also kept as the delivery's last error.
   */
  logger?: Logger
  /**
   * The relay's audience (its `--audience`): requests are then signed with version 2, which binds them to
   * that relay, so another relay holding the same secret refuses them. Without it, version 1.
   */
  audience?: string
}

/** Per-call options of every client method. */
export interface CallOptions {
  signal?: AbortSignal
}

/** Options of calls that are signed by an agent not named in the call. */
export interface AsAgentOptions extends CallOptions {
  /** The agent (or the relay's admin id) whose secret signs the call. */
  as: string
}

/** One send of a {@link RelayClient.sendBatch}. */
export type BatchItem = Omit<SendRequest, 'message'> & { message: MessageV2 }

/** What `GET /health` reports. */
export type RelayHealth = z.output<typeof HealthResponseSchema>

/** A thread as the relay lists it. */
export type RelayConversation = z.output<typeof ConversationSummarySchema>

interface RequestSpec<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  query?: Record<string, string | number | undefined>
  /** The agent whose secret signs the request; `null` for the unauthenticated endpoints. */
  as: string | null
  body?: unknown
  /** Safe to send twice: retried on any connection failure, not only a failure to connect. */
  idempotent: boolean
  schema: S
  signal?: AbortSignal | undefined
  /** Extra time the relay may hold the request (long poll), in ms. */
  holdMs?: number
  /** The trace context to send (a message's); default: the active OpenTelemetry span's, if any. */
  trace?: TraceMetadata | undefined
}

/** A reply claim's response, its message read apart (see `readDelivery`). */
const ClaimReplyEnvelopeSchema = z.object({ message: z.unknown() })

/** Errors that mean the request never reached the relay: safe to retry any call. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

/** Errors after which the request may or may not have been handled: retried for idempotent calls only. */
const CONNECTION_LOST_ERRORS = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

const EmptySchema = z.unknown()

type AckInput = { messageId: string; receipt?: string }
type ClaimInput = { agent: string; limit: number; leaseSeconds?: number }

/**
 * Errors a batch request can get because of one of its items: the calls are then sent one by one, so only
 * that item's caller sees its error. Anything else (authentication, rate limits, an unreachable relay) is
 * the same for every call of the group.
 */
const ITEM_ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  ErrorCode.VALIDATION,
  ErrorCode.AGENT_NOT_FOUND,
  ErrorCode.MESSAGE_NOT_FOUND,
  ErrorCode.DELIVERY_NOT_FOUND,
  ErrorCode.LEASE_LOST,
  ErrorCode.INVALID_STATE,
  ErrorCode.SCHEMA_VERSION,
  ErrorCode.CONFLICT,
])

function isItemError(error: unknown): boolean {
  if (error instanceof RelayError) return error.relayCode === RelayErrorCode.PAYLOAD_TOO_LARGE
  return error instanceof AgentCommError && ITEM_ERROR_CODES.has(error.code)
}

/**
 * A client of the agent-comm relay's `/api/v1`. Every request is signed (HMAC-SHA256, see `signRequest`)
 * with the secret of the agent it acts for: a send with the sender's, a claim, ack, nack, extend or wait
 * with the polling agent's. Connections are kept alive in an undici pool. A call that cannot reach the
 * relay is retried with exponential backoff, each attempt signed afresh: idempotent calls (send — the
 * message id makes a second send a reported duplicate —, ack, extend, status, reads, register, heartbeat)
 * on any connection failure, the others (claim, nack, wait) only when the connection could not be made.
 * Error responses come back as the typed errors the local transports throw, by `code`.
 *
 * Concurrent calls share requests (option `coalesce`, on by default): sends by one agent, claims of one
 * agent with the same lease and no long poll, and acks of one agent, made in the same event-loop turn, go as
 * one batch request (`/messages/batch`, one claim with the limits added up, `/agents/{id}/ack`). Results
 * are handed back per call, in order; a claim gets at most its own `limit`. When a batch is refused because
 * of one item (an invalid message, a lost lease), its calls are sent again one by one so each caller sees
 * its own outcome. A caller's `signal` rejects that call at once; the shared request carries on for the
 * others (what happens to a call aborted in flight is unknown, as for any request). A call made on its own
 * is sent exactly as with coalescing off.
 */
export class RelayClient {
  /** The base URL (the first, when several were given), without a trailing slash. */
  readonly baseUrl: string
  /** Every base URL given, in order; requests go to the current one and move on when it cannot be reached. */
  readonly baseUrls: readonly string[]
  readonly #targets: readonly RelayTarget[]
  /** Index in `#targets` of the relay requests go to now. */
  #current = 0
  readonly #secretFor: (agentId: string) => string | undefined
  readonly #clock: Clock
  readonly #ownsDispatcher: boolean
  readonly #retries: number
  readonly #retryDelayMs: number
  readonly #timeoutMs: number
  readonly #coalesce: boolean
  readonly #logger: Logger
  readonly #sends: Coalescer<BatchItem, SendResult>
  readonly #claims: Coalescer<ClaimInput, ClaimedMessage[]>
  readonly #acks: Coalescer<AckInput & { agent: string }, AckResult>
  readonly #audience: string | undefined
  #closed = false

  constructor(options: RelayClientOptions) {
    const urls = relayUrls(options.baseUrl)
    this.#ownsDispatcher = options.dispatcher === undefined
    this.#targets = urls.map((url) => ({
      origin: url.origin,
      prefix: url.pathname.replace(/\/+$/, ''),
      dispatcher:
        options.dispatcher ??
        new Pool(url.origin, {
          connections: options.connections ?? 64,
          keepAliveTimeout: 30_000,
          pipelining: 1,
        }),
    }))
    this.baseUrls = this.#targets.map((t) => `${t.origin}${t.prefix}`)
    this.baseUrl = this.baseUrls[0] as string
    this.#secretFor = options.secretFor
    this.#clock = options.clock ?? systemClock
    this.#retries = options.retries ?? 3
    this.#retryDelayMs = options.retryDelayMs ?? 50
    this.#timeoutMs = options.timeoutMs ?? 15_000
    this.#coalesce = options.coalesce ?? true
    this.#logger = options.logger ?? silentLogger
    if (options.audience !== undefined && !AUDIENCE_PATTERN.test(options.audience)) {
      throw new ConfigError(`Invalid relay audience '${options.audience}'`, {
        hint: "Give the relay's --audience: 1-256 printable characters without spaces.",
      })
    }
    this.#audience = options.audience
    this.#sends = new Coalescer({ maxWeight: 100, flush: (_agent, calls) => this.#flushSends(calls) })
    this.#claims = new Coalescer({
      maxWeight: MAX_CLAIM_LIMIT,
      weight: (input) => input.limit,
      flush: (_key, calls) => this.#flushClaims(calls),
    })
    this.#acks = new Coalescer({ maxWeight: 100, flush: (_agent, calls) => this.#flushAcks(calls) })
  }

  /** Liveness and database reachability of the relay (no authentication). */
  async health(options: CallOptions = {}): Promise<RelayHealth> {
    return this.#call({
      method: 'GET',
      path: ApiPath.health,
      as: null,
      idempotent: true,
      schema: HealthResponseSchema,
      signal: options.signal,
    })
  }

  /** Stores a message and queues its deliveries; signed as `message.fromAgent`, which the relay requires. */
  async send(
    message: MessageV2,
    options: Omit<SendRequest, 'message'> & CallOptions = {},
  ): Promise<SendResult> {
    const { signal, ...rest } = options
    const item: BatchItem = { message, ...rest }
    if (!this.#coalesce) return this.#sendOne(item, signal)
    this.#open()
    return this.#sends.add(message.fromAgent, item, signal)
  }

  #sendOne(item: BatchItem, signal: AbortSignal | undefined): Promise<SendResult> {
    return this.#call({
      method: 'POST',
      path: ApiPath.messages,
      as: item.message.fromAgent,
      body: item,
      idempotent: true,
      trace: traceMetadataOf(item.message.metadata),
      schema: SendResultSchema,
      signal,
    })
  }

  /** Concurrent sends of one agent: one batch request; a duplicate is asked again for the stored message. */
  async #flushSends(calls: Coalesced<BatchItem>[]): Promise<Outcome<SendResult>[]> {
    const one = (call: Coalesced<BatchItem>) => settle(this.#sendOne(call.input, call.signal))
    if (calls.length === 1) return [await one(calls[0] as Coalesced<BatchItem>)]
    let summaries: SendSummary[]
    try {
      summaries = await this.#postSendBatch(calls.map((call) => call.input))
    } catch (error) {
      if (isItemError(error)) return Promise.all(calls.map(one))
      throw error
    }
    return Promise.all(
      calls.map((call, i) => {
        const summary = summaries[i]
        if (summary === undefined || summary.duplicate) return one(call)
        return settle(Promise.resolve(SendResultSchema.parse({ ...summary, message: call.input.message })))
      }),
    )
  }

  async #postSendBatch(items: readonly BatchItem[], signal?: AbortSignal): Promise<SendSummary[]> {
    const response = await this.#call({
      method: 'POST',
      path: ApiPath.messagesBatch,
      as: (items[0] as BatchItem).message.fromAgent,
      body: { items },
      idempotent: true,
      schema: SendBatchResponseSchema,
      signal,
    })
    return response.results
  }

  /**
   * Sends up to 1000 messages in one request and one transaction (all stored or none). Every message must
   * come from the same agent, which signs the request. Results come back in order, without the messages.
   */
  async sendBatch(items: readonly BatchItem[], options: CallOptions = {}): Promise<SendSummary[]> {
    const from = items[0]?.message.fromAgent
    if (from === undefined) return []
    const stranger = items.findIndex((item) => item.message.fromAgent !== from)
    if (stranger >= 0) {
      throw new ValidationError(`Invalid batch: every message must come from '${from}'`, [
        {
          path: `items.${stranger}.message.fromAgent`,
          message: `must be '${from}', the agent signing the batch`,
        },
      ])
    }
    return this.#postSendBatch(items, options.signal)
  }

  /**
   * Leases up to `limit` (1–100) of `agent`'s messages. With `waitMs` (up to 30 000) the relay holds the
   * request while nothing is waiting and answers the moment a message arrives. A claimed message this
   * client cannot read (it breaks the protocol) is dead-lettered on its own and reported to the logger; the
   * others are returned.
   */
  async claim(
    agent: string,
    options: { limit?: number; leaseSeconds?: number; waitMs?: number } & CallOptions = {},
  ): Promise<ClaimedMessage[]> {
    const { signal, ...body } = options
    const limit = body.limit ?? DEFAULT_CLAIM_LIMIT
    const shareable =
      this.#coalesce &&
      (body.waitMs === undefined || body.waitMs === 0) &&
      Number.isInteger(limit) &&
      limit >= 1 &&
      limit <= MAX_CLAIM_LIMIT
    if (!shareable) return this.#claimOne(agent, body, signal)
    this.#open()
    const input = {
      agent,
      limit,
      ...(body.leaseSeconds === undefined ? {} : { leaseSeconds: body.leaseSeconds }),
    }
    return this.#claims.add(`${agent}\n${body.leaseSeconds ?? ''}`, input, signal)
  }

  /**
   * Leases for `agent` the oldest claimable reply to `requestId` and nothing else, the relay holding the
   * request up to `waitMs` (at most 30 s) when none is waiting; undefined when none came. Signed as `agent`.
   */
  async claimReply(
    agent: string,
    requestId: string,
    options: { leaseSeconds?: number; waitMs?: number } & CallOptions = {},
  ): Promise<ClaimedMessage | undefined> {
    const { signal, ...body } = options
    const response = await this.#call({
      method: 'POST',
      path: ApiPath.claimReply(agent, requestId),
      as: agent,
      body,
      idempotent: false,
      schema: ClaimReplyEnvelopeSchema,
      signal,
      holdMs: body.waitMs ?? 0,
    })
    if (response.message === null) return undefined
    const read = readDelivery(response.message)
    if (read.ok) return read.claimed
    await this.#deadLetterUnreadable(agent, read.unreadable)
    return undefined
  }

  async #claimOne(
    agent: string,
    body: { limit?: number; leaseSeconds?: number; waitMs?: number },
    signal: AbortSignal | undefined,
  ): Promise<ClaimedMessage[]> {
    const response = await this.#call({
      method: 'POST',
      path: ApiPath.claim(agent),
      as: agent,
      body,
      idempotent: false,
      schema: ClaimEnvelopeSchema,
      signal,
      holdMs: body.waitMs ?? 0,
    })
    const claimed: ClaimedMessage[] = []
    const setAside: Promise<void>[] = []
    for (const raw of response.messages) {
      const read = readDelivery(raw)
      if (read.ok) claimed.push(read.claimed)
      else setAside.push(this.#deadLetterUnreadable(agent, read.unreadable))
    }
    await Promise.all(setAside)
    return claimed
  }

  /**
   * Dead-letters a claimed delivery this client cannot read, so it neither fails the claim nor comes back:
   * a retry would read the same bytes. Never throws: a delivery that cannot be given back (no readable id,
   * the relay unreachable) is reported and returns when its lease runs out, until its attempts are used up.
   */
  async #deadLetterUnreadable(agent: string, delivery: UnreadableDelivery): Promise<void> {
    const { messageId, receipt, reason } = delivery
    const fields = { agentId: agent, messageId, reason }
    if (messageId === undefined) {
      this.#logger.error(
        fields,
        'a claimed delivery cannot be read, nor its message id: it returns when its lease runs out',
      )
      return
    }
    try {
      await this.nack(messageId, agent, {
        deadLetter: true,
        reason: `The recipient's client cannot read this message: ${reason}`,
        ...(receipt === undefined ? {} : { receipt }),
      })
      this.#logger.warn(fields, 'dead-lettered a claimed delivery this client cannot read')
    } catch (error) {
      this.#logger.error(
        { ...fields, error: error instanceof Error ? error.message : String(error) },
        'could not dead-letter a claimed delivery this client cannot read: it returns when its lease runs out',
      )
    }
  }

  /** Concurrent claims of one agent: one claim of all their limits, shared out in claim order. */
  async #flushClaims(calls: Coalesced<ClaimInput>[]): Promise<Outcome<ClaimedMessage[]>[]> {
    const first = (calls[0] as (typeof calls)[number]).input
    const limit = calls.reduce((sum, call) => sum + call.input.limit, 0)
    const body = { limit, ...(first.leaseSeconds === undefined ? {} : { leaseSeconds: first.leaseSeconds }) }
    const messages = await this.#claimOne(
      first.agent,
      body,
      calls.length === 1 ? calls[0]?.signal : undefined,
    )
    let next = 0
    return calls.map((call) => {
      const share = messages.slice(next, next + call.input.limit)
      next += call.input.limit
      return { ok: true, value: share }
    })
  }

  /**
   * Whether `agent` has a claimable message, waiting up to `timeoutMs` (at most 30 000) for one to arrive.
   * Claims nothing.
   */
  async wait(agent: string, options: { timeoutMs?: number } & CallOptions = {}): Promise<boolean> {
    const timeoutMs = Math.min(Math.max(0, Math.floor(options.timeoutMs ?? 0)), MAX_WAIT_MS)
    const response = await this.#call({
      method: 'GET',
      path: ApiPath.wait(agent),
      query: { timeoutMs },
      as: agent,
      idempotent: false,
      schema: WaitResponseSchema,
      signal: options.signal,
      holdMs: timeoutMs,
    })
    return response.available
  }

  /** Marks `agent`'s leased delivery of `messageId` done. */
  async ack(
    messageId: string,
    agent: string,
    options: { receipt?: string } & CallOptions = {},
  ): Promise<AckResult> {
    const { signal, ...body } = options
    if (!this.#coalesce) return this.#ackOne(agent, { messageId, ...body }, signal)
    this.#open()
    return this.#acks.add(agent, { agent, messageId, ...body }, signal)
  }

  #ackOne(agent: string, item: AckInput, signal: AbortSignal | undefined): Promise<AckResult> {
    const { messageId, ...body } = item
    return this.#call({
      method: 'POST',
      path: ApiPath.ack(agent, messageId),
      as: agent,
      body,
      idempotent: true,
      schema: AckResultSchema,
      signal,
    })
  }

  /** Concurrent acks of one agent: one batch ack; refused as a whole, they are sent one by one. */
  async #flushAcks(calls: Coalesced<AckInput & { agent: string }>[]): Promise<Outcome<AckResult>[]> {
    const one = ({ input: { agent, ...item }, signal }: (typeof calls)[number]) =>
      settle(this.#ackOne(agent, item, signal))
    if (calls.length === 1) return [await one(calls[0] as (typeof calls)[number])]
    const agent = (calls[0] as (typeof calls)[number]).input.agent
    let results: AckResult[]
    try {
      results = await this.#postAckBatch(
        agent,
        calls.map(({ input: { agent: _agent, ...item } }) => item),
      )
    } catch (error) {
      if (isItemError(error)) return Promise.all(calls.map(one))
      throw error
    }
    return calls.map((_call, i) => {
      const result = results[i]
      return result === undefined
        ? { ok: false, error: new Error('No result for an ack') }
        : { ok: true, value: result }
    })
  }

  async #postAckBatch(agent: string, items: readonly AckInput[], signal?: AbortSignal): Promise<AckResult[]> {
    const response = await this.#call({
      method: 'POST',
      path: ApiPath.ackBatch(agent),
      as: agent,
      body: { items },
      idempotent: true,
      schema: AckBatchResponseSchema,
      signal,
    })
    return response.results
  }

  /** Acks many of `agent`'s deliveries in one transaction; refused as a whole if any ack is. */
  async ackBatch(
    agent: string,
    items: ReadonlyArray<{ messageId: string; receipt?: string }>,
    options: CallOptions = {},
  ): Promise<AckResult[]> {
    if (items.length === 0) return []
    return this.#postAckBatch(agent, items, options.signal)
  }

  /** Returns a leased delivery for a retry, or dead-letters it. */
  async nack(
    messageId: string,
    agent: string,
    options: {
      reason?: string
      receipt?: string
      delaySeconds?: number
      deadLetter?: boolean
    } & CallOptions = {},
  ): Promise<NackResult> {
    const { signal, ...body } = options
    return this.#call({
      method: 'POST',
      path: ApiPath.nack(agent, messageId),
      as: agent,
      body,
      idempotent: false,
      schema: NackResultSchema,
      signal,
    })
  }

  /** Pushes a lease out to `leaseSeconds` from now. */
  async extendLease(
    messageId: string,
    agent: string,
    options: { receipt?: string; leaseSeconds?: number } & CallOptions = {},
  ): Promise<ExtendLeaseResult> {
    const { signal, ...body } = options
    return this.#call({
      method: 'POST',
      path: ApiPath.extend(agent, messageId),
      as: agent,
      body,
      idempotent: true,
      schema: ExtendLeaseResultSchema,
      signal,
    })
  }

  /** A message and its deliveries; the relay shows it to its sender, its recipients and the admin only. */
  async status(messageId: string, options: AsAgentOptions): Promise<MessageStatus> {
    return this.#call({
      method: 'GET',
      path: ApiPath.message(messageId),
      as: options.as,
      idempotent: true,
      schema: MessageStatusSchema,
      signal: options.signal,
    })
  }

  /** Registers (or updates) an agent on the relay; signed by the agent itself unless `as` names the admin. */
  async register(profile: AgentProfileInput, options: Partial<AsAgentOptions> = {}): Promise<AgentProfile> {
    const { agentId, status: _status, lastSeen: _lastSeen, registeredAt: _registeredAt, ...rest } = profile
    const body: RegisterRequest = rest
    return this.#call({
      method: 'PUT',
      path: ApiPath.agent(agentId),
      as: options.as ?? agentId,
      body,
      idempotent: true,
      schema: AgentProfileSchema,
      signal: options.signal,
    })
  }

  /** Records that `agentId` is alive. */
  async heartbeat(agentId: string, options: Partial<AsAgentOptions> = {}): Promise<AgentProfile> {
    return this.#call({
      method: 'POST',
      path: ApiPath.heartbeat(agentId),
      as: options.as ?? agentId,
      idempotent: true,
      schema: AgentProfileSchema,
      signal: options.signal,
    })
  }

  /** Removes `agentId` from the relay's registry (its secret stays until revoked). */
  async deregister(agentId: string, options: Partial<AsAgentOptions> = {}): Promise<void> {
    await this.#call({
      method: 'DELETE',
      path: ApiPath.agent(agentId),
      as: options.as ?? agentId,
      idempotent: true,
      schema: EmptySchema,
      signal: options.signal,
    })
  }

  /** One agent's profile as the relay knows it. */
  async getAgent(agentId: string, options: AsAgentOptions): Promise<AgentProfile> {
    return this.#call({
      method: 'GET',
      path: ApiPath.agent(agentId),
      as: options.as,
      idempotent: true,
      schema: AgentProfileSchema,
      signal: options.signal,
    })
  }

  /** The agents registered on the relay matching every given filter. */
  async listAgents(
    options: AsAgentOptions & { capability?: string; status?: string; device?: string; transport?: string },
  ): Promise<AgentProfile[]> {
    const { as, signal, ...query } = options
    const response = await this.#call({
      method: 'GET',
      path: ApiPath.agents,
      query,
      as,
      idempotent: true,
      schema: AgentListResponseSchema,
      signal,
    })
    return response.agents
  }

  /** The threads the signing agent took part in, most recent first (every thread for the admin). */
  async conversations(options: AsAgentOptions & { limit?: number }): Promise<RelayConversation[]> {
    const response = await this.#call({
      method: 'GET',
      path: ApiPath.conversations,
      query: { limit: options.limit },
      as: options.as,
      idempotent: true,
      schema: ConversationsResponseSchema,
      signal: options.signal,
    })
    return response.conversations
  }

  /** The messages of a thread that the signing agent sent or received, oldest first. */
  async conversation(conversationId: string, options: AsAgentOptions): Promise<MessageV2[]> {
    const response = await this.#call({
      method: 'GET',
      path: ApiPath.conversation(conversationId),
      as: options.as,
      idempotent: true,
      schema: ConversationResponseSchema,
      signal: options.signal,
    })
    return response.messages
  }

  /**
   * Sends one admin request (see the relay README: stats, failed deliveries, retries, every agent with its
   * secret dates), signed as `options.as`, which must be the relay's admin id.
   */
  async admin<S extends z.ZodType>(
    request: {
      method: 'GET' | 'POST'
      path: string
      query?: Record<string, string | number | undefined>
      body?: unknown
    },
    schema: S,
    options: AsAgentOptions,
  ): Promise<z.output<S>> {
    return this.#call({
      ...request,
      as: options.as,
      idempotent: request.method === 'GET',
      schema,
      signal: options.signal,
    })
  }

  /**
   * `agent`'s messages as server-sent events: each is claimed (leased for `leaseSeconds`) as it arrives and
   * yielded in order. Ack each one; a message whose lease runs out unacked is delivered again. A message
   * this client cannot read is dead-lettered and reported to the logger, and the stream goes on. Ends when
   * `signal` aborts, the client closes or the relay shuts down.
   */
  async *stream(
    agent: string,
    options: { leaseSeconds?: number; limit?: number } & CallOptions = {},
  ): AsyncGenerator<ClaimedMessage, void, undefined> {
    this.#open()
    let response: Dispatcher.ResponseData | undefined
    let target = this.#targets[this.#current] as RelayTarget
    // Each relay gets one try at opening the stream; one that cannot be reached hands over to the next.
    for (let tried = 1; response === undefined; tried++) {
      const targetIndex = this.#current
      target = this.#targets[targetIndex] as RelayTarget
      const path = this.#path(target.prefix, ApiPath.stream(agent), {
        leaseSeconds: options.leaseSeconds,
        limit: options.limit,
      })
      try {
        response = await target.dispatcher.request({
          origin: target.origin,
          method: 'GET',
          path,
          headers: { accept: 'text/event-stream', ...this.#sign(agent, 'GET', path, '') },
          signal: options.signal ?? null,
          headersTimeout: this.#timeoutMs,
          bodyTimeout: 0,
        })
      } catch (error) {
        if (options.signal?.aborted) return
        const code = (error as { code?: string }).code ?? ''
        if (!CONNECT_ERRORS.has(code) || tried >= this.#targets.length)
          throw this.#networkError(error, target)
        if (this.#current === targetIndex) this.#current = (targetIndex + 1) % this.#targets.length
      }
    }
    if (response.statusCode !== 200) {
      const text = await response.body.text()
      throw errorFromResponse(response.statusCode, text, headerOf(response.headers, 'x-request-id'))
    }
    try {
      for await (const event of parseServerSentEvents(response.body)) {
        if (event.event === 'message') {
          const read: ReadDelivery = readDeliveryText(event.data, event.id)
          if (read.ok) yield read.claimed
          else await this.#deadLetterUnreadable(agent, read.unreadable)
        } else if (event.event === 'error') throw errorFromResponse(503, event.data)
      }
    } catch (error) {
      if (options.signal?.aborted || this.#closed) return
      throw error instanceof RelayError || error instanceof ValidationError
        ? error
        : this.#networkError(error, target)
    } finally {
      response.body.destroy()
    }
  }

  /** Closes the keep-alive connections (a dispatcher passed in stays open); later calls throw `CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#ownsDispatcher) await Promise.all(this.#targets.map((t) => t.dispatcher.destroy()))
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('This relay client')
  }

  #path(
    prefix: string,
    path: string,
    query: Record<string, string | number | undefined> | undefined,
  ): string {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(key, String(value))
    }
    const search = params.toString()
    return `${prefix}${path}${search === '' ? '' : `?${search}`}`
  }

  #sign(agent: string, method: string, path: string, body: string): Record<string, string> {
    // A malformed id is the caller's input error, not a missing secret: say so before looking one up.
    parseOrThrow(AgentIdSchema, agent, 'agent id')
    const secret = this.#secretFor(agent)
    if (secret === undefined || secret === '') {
      throw new ConfigError(`No relay secret for agent '${agent}'`, {
        hint: `Set ${secretEnvName(agent)} to the secret printed by 'agent-comm relay gen-secret ${agent}' on the relay.`,
        details: { agentId: agent, variable: secretEnvName(agent) },
      })
    }
    return signRequest(secret, {
      method,
      path,
      body,
      agentId: agent,
      timestamp: this.#clock.now(),
      ...(this.#audience === undefined ? {} : { audience: this.#audience }),
    })
  }

  async #call<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.output<S>> {
    this.#open()
    const body = spec.body === undefined ? '' : JSON.stringify(spec.body)
    // With several relays, each gets a try before the retries proper: a failover costs no backoff.
    const attempts = this.#retries + this.#targets.length
    let failedOver = 0
    for (let attempt = 0; ; attempt++) {
      spec.signal?.throwIfAborted()
      const targetIndex = this.#current
      const target = this.#targets[targetIndex] as RelayTarget
      const path = this.#path(target.prefix, spec.path, spec.query)
      // Signed afresh on every attempt: a retry is a new request with its own nonce and timestamp.
      const headers: Record<string, string> =
        spec.as === null ? {} : this.#sign(spec.as, spec.method, path, body)
      if (body !== '') headers['content-type'] = 'application/json'
      const traced = traceHeaders(spec.trace)
      if (traced !== undefined) Object.assign(headers, traced)
      let response: Dispatcher.ResponseData
      let text: string
      try {
        response = await target.dispatcher.request({
          origin: target.origin,
          method: spec.method,
          path,
          headers,
          body: body === '' ? null : body,
          signal: spec.signal ?? null,
          headersTimeout: this.#timeoutMs + (spec.holdMs ?? 0),
          bodyTimeout: this.#timeoutMs,
        })
        text = await response.body.text()
      } catch (error) {
        if (spec.signal?.aborted) throw spec.signal.reason
        if (this.#closed) throw new ClosedError('This relay client')
        const code = (error as { code?: string }).code ?? ''
        const retryable = CONNECT_ERRORS.has(code) || (spec.idempotent && CONNECTION_LOST_ERRORS.has(code))
        if (!retryable || attempt + 1 >= attempts) throw this.#networkError(error, target)
        if (this.#targets.length > 1) {
          // Move on to the next relay (unless another call already did), and back off only once every
          // relay has been tried.
          if (this.#current === targetIndex) this.#current = (targetIndex + 1) % this.#targets.length
          failedOver++
          if (failedOver < this.#targets.length) continue
          failedOver = 0
        }
        await this.#backoff(attempt, spec.signal)
        continue
      }
      if (response.statusCode >= 200 && response.statusCode < 300) {
        return spec.schema.parse(text === '' ? undefined : JSON.parse(text))
      }
      if (RETRY_STATUSES.has(response.statusCode) && spec.idempotent && attempt + 1 < attempts) {
        // A replica shutting down (or without its database) says 503, a proxy whose replica died under
        // the request 502 or 504: the next one may serve. An idempotent call is safe to send again.
        if (this.#targets.length > 1 && this.#current === targetIndex) {
          this.#current = (targetIndex + 1) % this.#targets.length
        }
        await this.#backoff(attempt, spec.signal)
        continue
      }
      throw errorFromResponse(response.statusCode, text, headerOf(response.headers, 'x-request-id'))
    }
  }

  async #backoff(attempt: number, signal: AbortSignal | undefined): Promise<void> {
    const delay = Math.min(this.#retryDelayMs * 2 ** attempt, 2_000) * (0.5 + Math.random() / 2)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(signal?.reason)
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, delay)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  #networkError(error: unknown, target: RelayTarget): RelayError {
    const code = (error as { code?: string }).code
    const reason = error instanceof Error ? error.message : String(error)
    return new RelayError(
      'STORAGE',
      RelayErrorCode.UNAVAILABLE,
      undefined,
      `Cannot reach the relay at ${target.origin}${target.prefix}${this.#targets.length > 1 ? ` (nor the other ${this.#targets.length - 1} given)` : ''}: ${reason}`,
      {
        hint: 'Check that the relay is running (agent-comm relay start) and that this URL and port are reachable.',
        cause: error,
        ...(code === undefined ? {} : { details: { networkCode: code } }),
      },
    )
  }
}

/** Answers after which an idempotent call is sent again: the relay, or the proxy in front, is unavailable. */
const RETRY_STATUSES = new Set([502, 503, 504])

/** One relay a client may talk to. */
interface RelayTarget {
  origin: string
  /** Path prefix of its API, kept and signed. */
  prefix: string
  dispatcher: Dispatcher
}

/** The base URLs of `baseUrl`: one URL, a list, or a comma-separated string; each http(s). */
function relayUrls(baseUrl: RelayClientOptions['baseUrl']): URL[] {
  const given = (
    typeof baseUrl === 'string' ? baseUrl.split(',') : Array.isArray(baseUrl) ? baseUrl : [baseUrl]
  )
    .map((u) => String(u).trim())
    .filter((u) => u !== '')
  if (given.length === 0) {
    throw new ConfigError('No relay URL given', {
      hint: 'Give the relay base URL, e.g. http://relay.internal:8420',
    })
  }
  return given.map((text) => {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new ConfigError(`Invalid relay URL '${text}'`, {
        hint: 'Give the relay base URL, e.g. http://relay.internal:8420 (several: comma-separated)',
      })
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`Invalid relay URL '${url.href}': must be http or https`)
    }
    return url
  })
}

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name]
  return typeof value === 'string' ? value : undefined
}
