import type {
  AckResult,
  AgentProfile,
  AgentProfileInput,
  ClaimedMessage,
  ExtendLeaseResult,
  Logger,
  MessageStatus,
  MessageV2,
  NackResult,
  SendResult,
} from '@agent-comm/protocol'
import { type Clock, silentLogger, systemClock } from '@agent-comm/protocol'
import type { Dispatcher } from 'undici'
import type { z } from 'zod'
import type { SendRequest, SendSummary } from './api.js'
import { AgentEndpoints } from './endpoints/agents.js'
import type {
  AgentListOptions,
  AsAgentOptions,
  BatchItem,
  CallOptions,
  ClaimOptions,
  ClaimReplyOptions,
  ExtendOptions,
  NackOptions,
  RelayConversation,
  RelayHealth,
} from './endpoints/call-options.js'
import { DeliveryEndpoints } from './endpoints/deliveries.js'
import { MessageEndpoints } from './endpoints/messages.js'
import { type Query, RequestPipeline } from './request-pipeline.js'

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
  clock?: Clock | undefined
  /** Most keep-alive connections to the relay (64). Long polls and streams each hold one while open. */
  connections?: number | undefined
  /** Retries of a call that failed to reach the relay (3); see {@link RelayClient} for which calls retry. */
  retries?: number | undefined
  /** First retry delay in ms, doubled each retry, with jitter (50). */
  retryDelayMs?: number | undefined
  /**
   * Longest `Retry-After` honoured before a retry, in ms (10 000). An overloaded relay answers 503 with
   * `Retry-After` to a request it shed without reading it: every call, idempotent or not, is retried then,
   * after the larger of the backoff and that wait (cut to this bound).
   */
  maxRetryAfterMs?: number | undefined
  /** Waits between retries (a timer by default; tests pass one that records the waits). */
  sleep?: ((ms: number, signal: AbortSignal | undefined) => Promise<void>) | undefined
  /** Longest wait for a response, in ms (15 000); long polls add their own wait to it. */
  timeoutMs?: number | undefined
  /**
   * Largest answer read from the relay, in bytes (256 MiB): a longer one (a broken or hostile server at the
   * URL) is cut off and the call fails with `UNAVAILABLE` ("answered an invalid response"), as does a 2xx
   * answer that is not JSON or not the shape this client expects.
   */
  maxResponseBytes?: number | undefined
  /** A dispatcher to send through instead of the client's own keep-alive pool (not closed by {@link close}). */
  dispatcher?: Dispatcher | undefined
  /**
   * Let concurrent calls share requests (true): sends from one agent, claims of one agent (without a long
   * poll) and acks of one agent made in the same event-loop turn go to the relay as one batch request, and
   * each caller still gets its own result or error. A lone call is sent as it is. See {@link RelayClient}.
   */
  coalesce?: boolean | undefined
  /**
   * Where the client reports a claimed delivery it cannot read (one that breaks the protocol, e.g. written
   * to the relay's database by an older version): it is dead-lettered on its own and the claim returns the
   * others. Silent by default; the reason is also kept as the delivery's last error.
   */
  logger?: Logger | undefined
  /**
   * The relay's audience (its `--audience`): requests are then signed with version 2, which binds them to
   * that relay, so another relay holding the same secret refuses them. Without it, version 1.
   */
  audience?: string | undefined
}

/**
 * A client of the agent-comm relay's `/api/v1`. Every request is signed (HMAC-SHA256, see `signRequest`)
 * with the secret of the agent it acts for: a send with the sender's, a claim, ack, nack, extend or wait
 * with the polling agent's. Connections are kept alive in an undici pool. A call that cannot reach the
 * relay is retried with exponential backoff, each attempt signed afresh: idempotent calls (send — the
 * message id makes a second send a reported duplicate —, ack, extend, status, reads, register, heartbeat)
 * on any connection failure, the others (claim, nack, wait) only when the connection could not be made.
 * A 502/503/504 is retried the same way for idempotent calls; a 503 from an overloaded relay, which sheds a
 * request before reading it, for every call, after its `Retry-After` (bounded by `maxRetryAfterMs`).
 * A long poll, reply claim or wait refused for want of a wait slot (429 `TOO_MANY_WAITS`, refused before it
 * waited) is asked again after its `Retry-After` too, within the call's own wait; a stream up to `retries` times.
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
  readonly #pipeline: RequestPipeline
  readonly #messages: MessageEndpoints
  readonly #deliveries: DeliveryEndpoints
  readonly #agents: AgentEndpoints

  constructor(options: RelayClientOptions) {
    this.#pipeline = new RequestPipeline({ ...options, clock: options.clock ?? systemClock })
    this.baseUrls = this.#pipeline.baseUrls
    this.baseUrl = this.baseUrls[0] as string
    const coalesce = options.coalesce ?? true
    this.#messages = new MessageEndpoints(this.#pipeline, coalesce)
    this.#deliveries = new DeliveryEndpoints(this.#pipeline, {
      coalesce,
      logger: options.logger ?? silentLogger,
    })
    this.#agents = new AgentEndpoints(this.#pipeline)
  }

  /** Liveness and database reachability of the relay (no authentication). */
  health(options: CallOptions = {}): Promise<RelayHealth> {
    return this.#agents.health(options)
  }

  /** Stores a message and queues its deliveries; signed as `message.fromAgent`, which the relay requires. */
  send(message: MessageV2, options: Omit<SendRequest, 'message'> & CallOptions = {}): Promise<SendResult> {
    return this.#messages.send(message, options)
  }

  /**
   * Sends up to 1000 messages in one request and one transaction (all stored or none). Every message must
   * come from the same agent, which signs the request. Results come back in order, without the messages.
   */
  sendBatch(items: readonly BatchItem[], options: CallOptions = {}): Promise<SendSummary[]> {
    return this.#messages.sendBatch(items, options)
  }

  /**
   * Leases up to `limit` (1–100) of `agent`'s messages. With `waitMs` (up to 30 000) the relay holds the
   * request while nothing is waiting and answers the moment a message arrives. A claimed message this
   * client cannot read (it breaks the protocol) is dead-lettered on its own and reported to the logger; the
   * others are returned.
   */
  claim(agent: string, options: ClaimOptions = {}): Promise<ClaimedMessage[]> {
    return this.#deliveries.claim(agent, options)
  }

  /**
   * Leases for `agent` the oldest claimable reply to `requestId` and nothing else, the relay holding the
   * request up to `waitMs` (at most 30 s) when none is waiting; undefined when none came. With `from`, only a
   * reply sent by one of those agents — and, with `operator`, one sent by the relay's operator (an approval
   * wait). Signed as `agent`.
   */
  claimReply(
    agent: string,
    requestId: string,
    options: ClaimReplyOptions = {},
  ): Promise<ClaimedMessage | undefined> {
    return this.#deliveries.claimReply(agent, requestId, options)
  }

  /**
   * Whether `agent` has a claimable message, waiting up to `timeoutMs` (at most 30 000) for one to arrive.
   * Claims nothing.
   */
  wait(agent: string, options: { timeoutMs?: number } & CallOptions = {}): Promise<boolean> {
    return this.#deliveries.wait(agent, options)
  }

  /** Marks `agent`'s leased delivery of `messageId` done. */
  ack(
    messageId: string,
    agent: string,
    options: { receipt?: string } & CallOptions = {},
  ): Promise<AckResult> {
    return this.#deliveries.ack(messageId, agent, options)
  }

  /** Acks many of `agent`'s deliveries in one transaction; refused as a whole if any ack is. */
  ackBatch(
    agent: string,
    items: ReadonlyArray<{ messageId: string; receipt?: string }>,
    options: CallOptions = {},
  ): Promise<AckResult[]> {
    return this.#deliveries.ackBatch(agent, items, options)
  }

  /** Returns a leased delivery for a retry, or dead-letters it. */
  nack(messageId: string, agent: string, options: NackOptions = {}): Promise<NackResult> {
    return this.#deliveries.nack(messageId, agent, options)
  }

  /** Pushes a lease out to `leaseSeconds` from now. */
  extendLease(messageId: string, agent: string, options: ExtendOptions = {}): Promise<ExtendLeaseResult> {
    return this.#deliveries.extendLease(messageId, agent, options)
  }

  /** A message and its deliveries; the relay shows it to its sender, its recipients and the admin only. */
  status(messageId: string, options: AsAgentOptions): Promise<MessageStatus> {
    return this.#messages.status(messageId, options)
  }

  /** Registers (or updates) an agent on the relay; signed by the agent itself unless `as` names the admin. */
  register(profile: AgentProfileInput, options: Partial<AsAgentOptions> = {}): Promise<AgentProfile> {
    return this.#agents.register(profile, options)
  }

  /** Records that `agentId` is alive. */
  heartbeat(agentId: string, options: Partial<AsAgentOptions> = {}): Promise<AgentProfile> {
    return this.#agents.heartbeat(agentId, options)
  }

  /** Removes `agentId` from the relay's registry (its secret stays until revoked). */
  deregister(agentId: string, options: Partial<AsAgentOptions> = {}): Promise<void> {
    return this.#agents.deregister(agentId, options)
  }

  /** One agent's profile as the relay knows it. */
  getAgent(agentId: string, options: AsAgentOptions): Promise<AgentProfile> {
    return this.#agents.getAgent(agentId, options)
  }

  /** The agents registered on the relay matching every given filter. */
  listAgents(options: AgentListOptions): Promise<AgentProfile[]> {
    return this.#agents.listAgents(options)
  }

  /** The threads the signing agent took part in, most recent first (every thread for the admin). */
  conversations(options: AsAgentOptions & { limit?: number }): Promise<RelayConversation[]> {
    return this.#messages.conversations(options)
  }

  /** The messages of a thread that the signing agent sent or received, oldest first. */
  conversation(conversationId: string, options: AsAgentOptions): Promise<MessageV2[]> {
    return this.#messages.conversation(conversationId, options)
  }

  /**
   * Sends one admin request (see the relay README: stats, failed deliveries, retries, every agent with its
   * secret dates), signed as `options.as`, which must be the relay's admin id.
   */
  admin<S extends z.ZodType>(
    request: { method: 'GET' | 'POST'; path: string; query?: Query; body?: unknown },
    schema: S,
    options: AsAgentOptions,
  ): Promise<z.output<S>> {
    return this.#agents.admin(request, schema, options)
  }

  /**
   * `agent`'s messages as server-sent events: each is claimed (leased for `leaseSeconds`) as it arrives and
   * yielded in order. Ack each one; a message whose lease runs out unacked is delivered again. A message
   * this client cannot read is dead-lettered and reported to the logger, and the stream goes on. Ends when
   * `signal` aborts, the client closes or the relay shuts down. A reader that stops early (`break`, or
   * `signal` aborting) gets nothing more: the messages that had arrived but were not yielded are handed back
   * (`nack` with `handBack`), visible again at once with their attempts given back, as the relay does with
   * those it had not written yet.
   */
  stream(
    agent: string,
    options: { leaseSeconds?: number; limit?: number } & CallOptions = {},
  ): AsyncGenerator<ClaimedMessage, void, undefined> {
    return this.#deliveries.stream(agent, options)
  }

  /** Closes the keep-alive connections (a dispatcher passed in stays open); later calls throw `CLOSED`. */
  close(): Promise<void> {
    return this.#pipeline.close()
  }
}
