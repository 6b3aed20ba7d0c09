import { setTimeout as sleep } from 'node:timers/promises'
import type {
  AckResult,
  AgentProfile,
  AgentProfileInput,
  ClaimedMessage,
  Clock,
  ExtendLeaseResult,
  Logger,
  MessageInput,
  MessageStatus,
  MessageV2,
  NackResult,
  Transport,
  TransportNackOptions,
} from '@agent-comm/protocol'
import {
  A2A_CALLER_PREFIX,
  AgentIdSchema,
  AgentNotFoundError,
  APPROVAL_DECIDERS,
  assertApprovalDecision,
  assertTraceMetadata,
  BROADCAST_TARGET,
  CAPABILITY_TARGET_PREFIX,
  ClaimLimitSchema,
  ClosedError,
  createMessage,
  DEFAULT_CLAIM_LIMIT,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_TTL_HOURS,
  ForbiddenError,
  IdempotencyKeySchema,
  IdGenerator,
  isAgentCommError,
  isUnavailableError,
  LeaseSecondsSchema,
  MessageNotFoundError,
  NoRecipientsError,
  PollWaitMsSchema,
  parseMessage,
  parseOrThrow,
  replyThread,
  silentLogger,
  systemClock,
  ValidationError,
} from '@agent-comm/protocol'
import { lazySchema } from '@agent-comm/protocol/lazy-schema'
import type { ListFilter, Registry } from '@agent-comm/registry'
import type {
  CleanupOptions,
  CleanupReport,
  ConversationSummary,
  FailedDelivery,
  PendingDelivery,
  SearchQuery,
  Spool,
  SpoolStats,
  VerifyReport,
} from '@agent-comm/spool'
import { claimThenWait, isGroupTarget } from '@agent-comm/spool'
import { z } from 'zod'
import { diagnoseReceipt } from './lease-diagnosis.js'
import { type AwaitReplyOptions, assertAwaitsReplies, type Repliers, takeReply } from './request.js'
import {
  type DefaultRoute,
  TransportRouter as Router,
  type TransportRouter,
  type TransportSet,
} from './routing.js'
import {
  activeContext,
  carriedContext,
  claimedAttributes,
  inAckSpans,
  inSpan,
  messageAttributes,
  type Parent,
  recordReceive,
  SpanKind,
  settleParentOf,
  spanContextOf,
  withTraceMetadata,
} from './tracing.js'

/** Pauses of a `messages` loop through an outage: the first, then doubled up to the longest. */
const LOOP_OUTAGE_FIRST_PAUSE_MS = 250
const LOOP_OUTAGE_MAX_PAUSE_MS = 5_000

/** Behaviour settings of a {@link Coordinator}. */
export interface CoordinatorSettings {
  /** Default message TTL in hours when a message names none (24). */
  ttlHours: number
  /** Default lease in seconds (60). */
  leaseSeconds: number
  /** Accept messages to agents that are not registered (false: `AgentNotFoundError`). */
  allowUnregistered: boolean
}

/** What a coordinator is built from. Only composition roots (CLI, relay, MCP bin) assemble these. */
export interface CoordinatorDeps {
  /** The local spool: threads, search, stats, cleanup and dead letters are read from it. */
  spool: Spool
  registry: Registry
  transports: TransportSet
  /** Transport for unregistered recipients (default: the sqlite one). */
  defaultRoute?: DefaultRoute
  clock?: Clock
  ids?: IdGenerator
  logger?: Logger
  settings?: Partial<CoordinatorSettings>
  /** Called by {@link Coordinator.close} after the transports: close what the composition root opened. */
  onClose?: () => Promise<void>
  /**
   * What a registration that names no transport gets: `createCoordinator` gives `file` and its folder
   * when the configured default transport is `file` (AGENT_COMM_TRANSPORT=file). Default: the registry's
   * (`sqlite`).
   */
  registrationDefaults?: Pick<AgentProfileInput, 'transport' | 'inboxDir'>
}

/** Per-send options. */
export interface SendOptions {
  /** Allow this message to an unregistered agent even if the coordinator does not. */
  allowUnregistered?: boolean | undefined
  delaySeconds?: number | undefined
  maxAttempts?: number | undefined
  /**
   * For a `*` or `capability:<name>` message: also hold it for agents that register later. It goes to the
   * matching agents registered now, as always, and is kept until it expires (its `routing.ttlHours`,
   * default 24): every agent that registers or re-registers matching the target before then, on the
   * `sqlite` transport, gets one delivery (never two, and never the sender). A group message that reaches
   * nobody now is stored and held instead of refused with `AGENT_NOT_FOUND`. Refused for a direct message.
   */
  holdForFutureRecipients?: boolean | undefined
  /**
   * At most one enqueue per sender and key within the store's window (24 h by default): a send by the same
   * sender with this key, whatever its message id, stores nothing and reports the first message's id with
   * `duplicate: true`. Kept by the local spool and by relays; refused for a recipient on the file transport,
   * which cannot keep keys.
   */
  idempotencyKey?: string | undefined
}

/** What a send did across every transport it used. */
export interface SendReport {
  messageId: string
  message: MessageV2
  /** Deliveries created, over all transports (0 for a duplicate). */
  deliveries: number
  recipients: string[]
  duplicate: boolean
  /** Which transport carried which recipients. */
  routes: { transport: Transport['kind']; recipients: string[] }[]
  /** With `holdForFutureRecipients`: until when agents registering later get it (ISO 8601). */
  heldUntil?: string
}

/** Options of {@link Coordinator.poll}: `signal` ends a long poll early. */
export type PollOptions = z.input<typeof PollSchema> & { signal?: AbortSignal | undefined }

/** Fields of a reply; the rest comes from the message it answers. */
export type ReplyFields = Omit<MessageInput, 'toAgent' | 'fromAgent' | 'routing'> & {
  fromAgent?: string
  routing?: { ttlHours?: number }
}

/** Options of {@link Coordinator.request}: how to send the request, and how long to wait for its reply. */
export type RequestOptions = SendOptions & AwaitReplyOptions

/** A message to act on: a claimed message (its lease gives agent and receipt) or an id. */
export type MessageRef = ClaimedMessage | string

const PollSchema = lazySchema(() =>
  z.object({
    /** At most this many messages (1–1000, default 10). */
    limit: ClaimLimitSchema.default(DEFAULT_CLAIM_LIMIT),
    /** Lease length in seconds (default: the coordinator's). */
    leaseSeconds: LeaseSecondsSchema.optional(),
    /** Wait up to this many ms for the first message when none is waiting (long poll; at most an hour). */
    waitMs: PollWaitMsSchema.optional(),
  }),
)

/** Where a coordinator's local stores keep their data: see {@link Coordinator.storage}. */
export interface CoordinatorStorage {
  /** The spool's location: a SQLite file path, or a PostgreSQL URL without its password. */
  path: string
  /** The spool store's kind, `sqlite` or `postgres`. */
  spool: string
  /** The registry store's kind, `sqlite` or `postgres`. */
  registry: string
}

/**
 * The façade apps embed: agents, messages and threads over whichever transport reaches each agent.
 * Built from injected parts (see {@link CoordinatorDeps}); `createCoordinator` assembles the default
 * local setup from a config.
 */
export class Coordinator {
  readonly #registry: Registry
  readonly #spool: Spool
  readonly #router: TransportRouter
  readonly #clock: Clock
  readonly #ids: IdGenerator
  readonly #log: Logger
  readonly #settings: CoordinatorSettings
  readonly #onClose: (() => Promise<void>) | undefined
  readonly #registrationDefaults: Pick<AgentProfileInput, 'transport' | 'inboxDir'>
  /**
   * The transport each message handed out by `poll` was claimed through: its ack, nack or extension goes
   * back there without looking the agent up again (and to where the lease is, even if the agent has moved).
   */
  readonly #claimedThrough = new WeakMap<ClaimedMessage, Transport>()
  /** Messages from `poll` acked or nacked already: a `messages` loop with `autoAck` leaves them alone. */
  readonly #settled = new WeakSet<ClaimedMessage>()
  /**
   * What each running `messages` loop must settle when the coordinator closes while the loop's body runs:
   * the loop is suspended at its `yield` then and cannot do it itself before the transports close.
   */
  readonly #loops = new Set<() => Promise<void>>()
  #closed = false

  constructor(deps: CoordinatorDeps) {
    this.#registry = deps.registry
    this.#spool = deps.spool
    this.#clock = deps.clock ?? systemClock
    this.#ids = deps.ids ?? new IdGenerator(this.#clock)
    this.#log = deps.logger ?? silentLogger
    this.#settings = {
      ttlHours: DEFAULT_TTL_HOURS,
      leaseSeconds: DEFAULT_LEASE_SECONDS,
      allowUnregistered: false,
      ...deps.settings,
    }
    this.#router = new Router(
      deps.transports,
      deps.defaultRoute ?? { kind: 'sqlite', transport: deps.transports.sqlite },
    )
    this.#onClose = deps.onClose
    this.#registrationDefaults = deps.registrationDefaults ?? {}
  }

  /** Registers an agent or updates its profile; a profile without a transport gets the default one. */
  async register(profile: AgentProfileInput): Promise<AgentProfile> {
    this.#open()
    return this.#registry.register(
      profile.transport === undefined
        ? { ...this.#registrationDefaults, ...withoutUndefined(profile) }
        : profile,
    )
  }

  /** Registered agents, optionally only those with a capability. */
  async discover(capability?: string): Promise<AgentProfile[]> {
    this.#open()
    return capability === undefined ? this.#registry.list() : this.#registry.findByCapability(capability)
  }

  /**
   * Sends a message: to one registered agent, to everyone (`toAgent: "*"`) or to every agent with a
   * capability (`toAgent: "capability:review"`). Group sends fan out to every match except the sender.
   * The message goes through the transport of each recipient. Throws `AgentNotFoundError` for an
   * unregistered recipient unless unregistered agents are allowed, and an `AGENT_NOT_FOUND` error for a
   * group address that reaches no agent (no one holds the capability, or no one but the sender is
   * registered): nothing is stored then — unless `holdForFutureRecipients` asks to keep it for agents
   * that register later.
   */
  async send(input: MessageInput | MessageV2, options: SendOptions = {}): Promise<SendReport> {
    this.#open()
    const message = this.#complete(input)
    // Only an approval response waits for a lookup: other sends go on in the same turn (group commit).
    if (message.payload?.type === 'approval_response') await this.#checkDecision(message)
    return this.#tracedSend(message, options, activeContext())
  }

  /**
   * Refuses an `approval_response` whose decision its request did not offer (`assertApprovalDecision`),
   * when the coordinator can see the request (local, or on the relay as the responder): the waiting
   * `request` would otherwise resolve with it. The spool checks it again for a request in its own store.
   */
  async #checkDecision(message: MessageV2, request?: MessageV2): Promise<void> {
    const replyTo = message.routing.replyTo
    if (message.payload?.type !== 'approval_response' || replyTo === undefined) return
    const asked =
      request ??
      (await this.status(replyTo, { as: message.fromAgent }).then(
        (found) => found.message,
        // A request this coordinator cannot see (not found, or a relay refusing the lookup) is left to the
        // store that holds it; the send itself goes on and reports its own errors.
        (error: unknown) => {
          if (isAgentCommError(error)) return undefined
          throw error
        },
      ))
    if (asked !== undefined) assertApprovalDecision(asked, message)
  }

  /**
   * Sends in a `agent-comm send` span, a child of `parent`: the message carries the span's trace context in
   * `metadata.trace` (when there is a trace), so its recipients continue the trace.
   */
  #tracedSend(completed: MessageV2, options: SendOptions, parent: Parent): Promise<SendReport> {
    return inSpan(
      'agent-comm send',
      SpanKind.PRODUCER,
      () => messageAttributes(completed),
      async (span) => {
        const report = await this.#send(withTraceMetadata(completed, span), options)
        span?.setAttribute('agent_comm.deliveries', report.deliveries)
        if (report.duplicate) span?.setAttribute('agent_comm.duplicate', true)
        return report
      },
      parent,
    )
  }

  async #send(message: MessageV2, options: SendOptions): Promise<SendReport> {
    if (options.idempotencyKey !== undefined)
      parseOrThrow(IdempotencyKeySchema, options.idempotencyKey, 'idempotency key')
    const hold = options.holdForFutureRecipients === true
    if (hold && !isGroupTarget(message.toAgent)) {
      throw new ValidationError(
        `Invalid send: only a broadcast ('*') or capability ('capability:<name>') message can be held for future recipients, not one to '${message.toAgent}'`,
        [{ path: 'holdForFutureRecipients', message: "only for a '*' or 'capability:<name>' target" }],
        {
          hint: 'Send it without holding; to send to an agent that is not registered yet, allow unregistered recipients.',
        },
      )
    }
    const targets = await this.#recipients(
      message,
      options.allowUnregistered ?? this.#settings.allowUnregistered,
      hold,
    )
    const groups = new Map<Transport, string[]>()
    for (const { agentId, profile } of targets) {
      const transport =
        profile === undefined ? await this.#unregisteredRoute(agentId, message) : this.#router.for(profile)
      const group = groups.get(transport)
      if (group === undefined) groups.set(transport, [agentId])
      else group.push(agentId)
    }
    const report: SendReport = {
      messageId: message.id,
      message,
      deliveries: 0,
      recipients: targets.map((t) => t.agentId),
      duplicate: false,
      routes: [],
    }
    if (options.idempotencyKey !== undefined) refuseKeyOnFileTransport(groups)
    for (const [transport, recipients] of groups) {
      const result = await transport.send(message, {
        recipients,
        delaySeconds: options.delaySeconds,
        maxAttempts: options.maxAttempts,
        idempotencyKey: options.idempotencyKey,
      })
      report.deliveries += result.deliveries
      report.duplicate ||= result.duplicate
      report.routes.push({ transport: transport.kind, recipients })
      if (result.messageId !== message.id) {
        // A duplicate by idempotency key: the message the key first stored is the one that was sent.
        report.messageId = result.messageId
        report.message = result.message
      }
    }
    if (hold) report.heldUntil = await this.#hold(message, targets, options.maxAttempts)
    await this.#registry.touch(message.fromAgent)
    this.#log.debug(
      { messageId: message.id, from: message.fromAgent, to: message.toAgent, deliveries: report.deliveries },
      'message sent',
    )
    return report
  }

  /**
   * Answers a message: to its sender, in its conversation, with `replyTo` set and the subject prefixed
   * `Re: `. The reply comes from the original recipient unless `fields.fromAgent` says otherwise; an agent
   * that did not receive the message may not reply to it (`FORBIDDEN`).
   */
  async reply(original: MessageV2 | ClaimedMessage | string, fields: ReplyFields, options: SendOptions = {}) {
    this.#open()
    const claimed = typeof original !== 'string' && 'lease' in original ? original : undefined
    const status = typeof original === 'string' ? await this.status(original) : undefined
    const source = status?.message ?? claimed?.message ?? (original as MessageV2)
    const fromAgent = fields.fromAgent ?? claimed?.lease.recipient ?? source.toAgent
    if (fromAgent === BROADCAST_TARGET || fromAgent.startsWith(CAPABILITY_TARGET_PREFIX)) {
      throw new ValidationError(
        `Invalid reply: message '${source.id}' went to a group ('${source.toAgent}'); say which agent replies (fromAgent)`,
        [{ path: 'fromAgent', message: 'required when replying to a group message' }],
      )
    }
    await this.#requireRecipient(source, fromAgent, claimed, status)
    const thread = replyThread(source)
    const message = this.#complete({
      ...fields,
      fromAgent,
      toAgent: source.fromAgent,
      subject: fields.subject ?? thread.subject,
      routing: {
        ...thread.routing,
        // Spread over the thread's routing: an absent ttlHours keeps the thread's.
        ...(fields.routing?.ttlHours === undefined ? {} : { ttlHours: fields.routing.ttlHours }),
      },
    })
    if (message.payload?.type === 'approval_response') await this.#checkDecision(message, source)
    return this.#tracedSend(message, options, replyParent(source))
  }

  /**
   * Only a recipient of a message answers it: else any agent (the requester itself, a stranger) could put
   * words in a recipient's place and resolve a waiting `request`. A claimed message was received by its
   * claimer and a direct message by the agent it names; otherwise the message's deliveries tell, looked up
   * wherever it is held (a relay too). The refusal does not say who the recipients are.
   */
  async #requireRecipient(
    source: MessageV2,
    fromAgent: string,
    claimed: ClaimedMessage | undefined,
    status: MessageStatus | undefined,
  ): Promise<void> {
    if (claimed?.lease.recipient === fromAgent || source.toAgent === fromAgent) return
    const deliveries = (status ?? (await this.status(source.id))).deliveries
    if (deliveries.some((d) => d.recipient === fromAgent)) return
    throw new ForbiddenError(
      `Agent '${fromAgent}' may not reply to message '${source.id}': it did not receive it`,
      {
        hint: 'Only a recipient of a message can reply to it: reply as the agent it was delivered to, or send a new message instead.',
        details: { messageId: source.id, agentId: fromAgent },
      },
    )
  }

  /**
   * Sends `input` as a request and resolves with its reply: the first message addressed to the requester
   * (`fromAgent`) whose `routing.replyTo` is the request's id, claimed and acked on the requester's behalf.
   * Only that reply is taken: the requester's other messages, replies to its other requests included, stay
   * in its inbox. On timeout (`timeoutMs`, 60 s) it rejects with a `RequestTimeoutError` (`TIMEOUT`) whose
   * `requestId` resumes the wait with {@link awaitReply}; the request is an ordinary durable message, so a
   * requester that crashed can do the same after a restart. An `approval_request` payload resolves with the
   * `approval_response` reply. Works whichever transport carries the request and the reply.
   *
   * `signal` already aborted: nothing is sent, it rejects with the signal's reason. Aborted once the request
   * is sent: it rejects with a `RequestAbortedError` (`ABORTED`) carrying `requestId` (and the reason as
   * `cause`), so the wait can be resumed with {@link awaitReply} like after a timeout.
   */
  async request(input: MessageInput | MessageV2, options: RequestOptions = {}): Promise<MessageV2> {
    this.#open()
    const { timeoutMs, signal, leaseSeconds, ...sendOptions } = options
    // Cancelled before it began: nothing is sent, so no responder does work nobody waits for.
    signal?.throwIfAborted()
    const message = this.#complete(input)
    // A requester that cannot wait for its reply is refused before anything is sent.
    assertAwaitsReplies(await this.#transportOf(message.fromAgent), message.fromAgent)
    return inSpan(
      'agent-comm request',
      SpanKind.CLIENT,
      () => messageAttributes(message),
      async (span, ctx) => {
        const sent = await this.#tracedSend(message, sendOptions, ctx)
        // The agents it went to answer it; a duplicate's or a held request's recipients are read as they
        // are stored (agents registering later join a held one).
        const known = !sent.duplicate && sent.heldUntil === undefined && sent.recipients.length > 0
        const reply = await this.#awaitReply(sent.messageId, sent.message.fromAgent, {
          timeoutMs,
          signal,
          leaseSeconds,
          repliers: known
            ? async () => ({ ...repliersOf(sent.message, sent.recipients), held: false })
            : async () => this.#repliersNow(sent.messageId, sent.message.fromAgent),
        })
        span?.setAttribute('agent_comm.reply_id', reply.id)
        return reply
      },
    )
  }

  /**
   * Waits again for the reply to a request sent earlier (by {@link request}, or by this process before a
   * restart), claims only it and acks it for the requester (the request's sender, or `requester`). A reply
   * that arrived while nobody waited is taken at once. Rejects with `TIMEOUT` (carrying `requestId`) when
   * none comes within `timeoutMs` (60 s).
   */
  async awaitReply(
    requestId: string,
    options: AwaitReplyOptions & { requester?: string | undefined } = {},
  ): Promise<MessageV2> {
    this.#open()
    const { requester: given, ...wait } = options
    const asked = given === undefined ? undefined : parseOrThrow(AgentIdSchema, given, 'requester agent id')
    // Looked up as the requester when known: a relay holding the request answers its sender.
    let read: MessageStatus | undefined = await this.status(
      requestId,
      asked === undefined ? {} : { as: asked },
    )
    const requester = asked ?? read.message.fromAgent
    return this.#awaitReply(requestId, requester, {
      ...wait,
      // The first wait slice uses the status just read; later ones read it again (a held request gains
      // recipients).
      repliers: async () => {
        const status = read ?? (await this.status(requestId, { as: requester }))
        read = undefined
        return repliersIn(status)
      },
    })
  }

  /** The wait of `request` and `awaitReply`: takes the reply `requester` gets from one of `repliers`. */
  async #awaitReply(
    requestId: string,
    requester: string,
    options: AwaitReplyOptions & { repliers: () => Promise<Repliers> },
  ): Promise<MessageV2> {
    const transport = await this.#transportOf(requester)
    const reply = await takeReply(transport, requester, requestId, {
      ...options,
      leaseSeconds: options.leaseSeconds ?? this.#settings.leaseSeconds,
    })
    await this.#registry.touch(requester)
    return reply.message
  }

  /** The agents whose reply to `requestId` counts, as its deliveries stand now (see {@link repliersOf}). */
  async #repliersNow(requestId: string, requester: string): Promise<Repliers> {
    return repliersIn(await this.status(requestId, { as: requester }))
  }

  /**
   * Claims up to `limit` messages for `agent` (leased for `leaseSeconds`). With `waitMs`, waits that long
   * for the first message when none is waiting. Ack each message after handling it.
   *
   * An agent that is not registered can poll what was sent to it with `allowUnregistered`; when nothing is
   * there, the name is more likely a typo than a newcomer, so the poll fails with `AgentNotFoundError` and
   * the command that registers it (unless the coordinator allows unregistered agents).
   */
  async poll(agent: string, options: PollOptions = {}): Promise<ClaimedMessage[]> {
    this.#open()
    const agentId = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const opts = parseOrThrow(PollSchema, options, 'poll options')
    return inSpan(
      'agent-comm claim',
      SpanKind.CONSUMER,
      () => ({ 'messaging.system': 'agent-comm', 'agent_comm.agent': agentId }),
      async (span) => {
        const claimed = await this.#poll(agentId, opts, options.signal)
        span?.setAttribute('messaging.batch.message_count', claimed.length)
        if (claimed.length === 1 && span?.isRecording())
          span.setAttributes(claimedAttributes(claimed[0] as ClaimedMessage))
        for (const message of claimed) recordReceive(message)
        return claimed
      },
    )
  }

  async #poll(
    agentId: string,
    opts: z.output<typeof PollSchema>,
    signal: AbortSignal | undefined,
  ): Promise<ClaimedMessage[]> {
    const profile = await this.#registry.get(agentId)
    const transport = this.#router.for(profile)
    const claim = { limit: opts.limit, leaseSeconds: opts.leaseSeconds ?? this.#settings.leaseSeconds }
    const claimed =
      (await claimThenWait(
        {
          claim: async () => {
            const batch = await transport.claim(agentId, claim)
            // Nothing for a name nobody registered: more likely a typo than a newcomer (see `poll`).
            if (batch.length === 0 && profile === undefined && !this.#settings.allowUnregistered) {
              throw new AgentNotFoundError(agentId)
            }
            return batch.length === 0 ? undefined : batch
          },
          wait: (timeoutMs, waitSignal) => this.#waitForMessages(transport, agentId, timeoutMs, waitSignal),
        },
        { timeoutMs: opts.waitMs ?? 0, signal },
      )) ?? []
    for (const message of claimed) this.#claimedThrough.set(message, transport)
    await this.#registry.touch(agentId)
    return claimed
  }

  /** Waits on `transport` for a message `agentId` can claim (see `Transport.waitForMessages`). */
  #waitForMessages(
    transport: Transport,
    agentId: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    return transport.waitForMessages(agentId, { timeoutMs, signal })
  }

  /**
   * Yields messages for `agent` as they arrive, until `signal` aborts:
   * `for await (const msg of coord.messages('builder')) { …; await coord.ack(msg) }`.
   * Messages claimed but not yet yielded when the loop stops are handed back at once (a nack with
   * `handBack`: the attempt their claim counted is given back, so they never dead-letter for it). With a
   * `limit` above 1 a claim leases a batch ahead of the body: once half of its lease has gone, the leases
   * of the messages not yet yielded are extended before the next is yielded (one whose lease was lost
   * meanwhile is skipped, with a warning), and with `autoAck` the finished ones are acked then.
   *
   * With `autoAck: true` the loop body does not ack: each message is acked once the loop asks for the next
   * one — on the SQLite transport in the same transaction that leases the next (settle-and-claim: one
   * commit where ack then claim pay two), and also when the loop ends after finishing a message. A message
   * whose body throws or `break`s out is not acked (ack it yourself before a `break` if it is done); one the
   * body acked or nacked itself is left alone. An ack refused because the lease was lost ends the loop with
   * the `LeaseLostError`, having claimed nothing.
   *
   * Once `signal` aborts or the coordinator is closed, nothing more is yielded, even of a batch claimed
   * ahead: {@link close} hands the messages not yet yielded back (and, with `autoAck`, acks the finished
   * ones) before it closes the transports. Called on a closed coordinator, the loop fails with `CLOSED`.
   */
  async *messages(
    agent: string,
    options: {
      signal?: AbortSignal | undefined
      limit?: number | undefined
      leaseSeconds?: number | undefined
      autoAck?: boolean | undefined
    } = {},
  ): AsyncGenerator<ClaimedMessage, void, undefined> {
    this.#open()
    const agentId = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const signal = options.signal
    const claim = {
      limit: options.limit ?? 1,
      leaseSeconds: options.leaseSeconds,
    }
    const leaseSeconds = options.leaseSeconds ?? this.#settings.leaseSeconds
    const leaseMs = leaseSeconds * 1000
    /** Messages the loop body finished (autoAck), acked with the next claim. */
    const handled: ClaimedMessage[] = []
    /** The batch being yielded, and the index of the next message to yield. */
    let batch: ClaimedMessage[] = []
    let next = 0
    /** Aborted by `close()`: ends a pause of the loop through an outage at once. */
    const closing = new AbortController()
    const pauseSignal = signal === undefined ? closing.signal : AbortSignal.any([signal, closing.signal])
    let outagePauseMs = 0
    const settleOnClose = async () => {
      closing.abort()
      const finished = handled.splice(0).filter((m) => !this.#settled.has(m))
      const unseen = batch.splice(next)
      for (const message of finished) {
        await this.#ack(message).catch((error: unknown) => this.#warnUnsettled(message, 'acked', error))
      }
      await this.#handBack(unseen)
    }
    this.#loops.add(settleOnClose)
    try {
      while (!signal?.aborted && !this.#closed) {
        let claimed: ClaimedMessage[] | undefined
        try {
          claimed = await this.#claimForLoop(agentId, claim, handled, signal)
          outagePauseMs = 0
        } catch (error) {
          // A database or relay out of reach for now (a restart, a crash, a failover) does not end a loop
          // meant to run until stopped: it is waited out with backoff. Messages whose ack went with the failed
          // claim are redelivered after their lease if the ack did not commit.
          if (!isUnavailableError(error) || signal?.aborted || this.#closed) throw error
          outagePauseMs =
            outagePauseMs === 0
              ? LOOP_OUTAGE_FIRST_PAUSE_MS
              : Math.min(outagePauseMs * 2, LOOP_OUTAGE_MAX_PAUSE_MS)
          this.#log.warn(
            { agent: agentId, error: (error as Error).message, retryInMs: outagePauseMs },
            'messages(): the database or relay is unavailable for now; claiming again after a pause',
          )
          await sleep(outagePauseMs, undefined, { signal: pauseSignal }).catch(() => undefined)
          continue
        }
        if (claimed === undefined) continue
        batch = claimed
        next = 0
        // A batch shares one lease: past half of it, what the loop still holds is settled or kept alive
        // before the next message is yielded, so no claimed message's lease runs out unnoticed.
        let renewAt = batch.length > 1 ? halfLease(batch[0]!, leaseMs) : Number.POSITIVE_INFINITY
        try {
          while (next < batch.length) {
            // Stopped while the body ran (an abort, a close): nothing more is yielded.
            if (signal?.aborted || this.#closed) break
            if (next > 0 && this.#clock.now() >= renewAt) {
              await this.#keepBatch(batch, next, handled, leaseSeconds)
              if (next === batch.length) break
              renewAt = halfLease(batch[next]!, leaseMs)
            }
            const message = batch[next++]!
            yield message
            if (options.autoAck === true) handled.push(message)
          }
        } finally {
          // The consumer stopped early: hand back what it never saw instead of letting leases run out; the
          // attempts their claim counted are given back, so a loop that breaks often dead-letters nothing.
          // (After a close, `settleOnClose` has handed them back already and the batch ends at `next`.)
          await this.#handBack(batch.splice(next))
        }
      }
    } finally {
      this.#loops.delete(settleOnClose)
      // Finished before the loop ended (aborted, or stopped after the body completed): acked now.
      for (const message of handled.splice(0)) {
        if (!this.#settled.has(message) && !this.#closed) await this.ack(message)
      }
    }
  }

  /**
   * One claim of a `messages` loop: settles what the body finished (autoAck) and claims the next batch,
   * waiting up to 30 s for one; undefined when nothing came or the loop was stopped meanwhile.
   */
  #claimForLoop(
    agentId: string,
    claim: { limit: number; leaseSeconds: number | undefined },
    handled: ClaimedMessage[],
    signal: AbortSignal | undefined,
  ): Promise<ClaimedMessage[] | undefined> {
    return claimThenWait(
      {
        claim: async () => {
          // Closed or aborted during the wait: the while ends the loop, nothing more is claimed.
          if (this.#closed || signal?.aborted) return undefined
          const claimed =
            handled.length === 0
              ? await this.poll(agentId, claim)
              : await this.#settleAndPoll(agentId, handled.splice(0), claim)
          return claimed.length === 0 ? undefined : claimed
        },
        wait: async (timeoutMs, waitSignal) =>
          this.#waitForMessages(await this.#transportOf(agentId, true), agentId, timeoutMs, waitSignal),
      },
      { timeoutMs: 30_000, signal },
    )
  }

  /**
   * Hands messages a `messages` loop claimed but never yielded back (their attempt given back, visible again
   * at once), also while the coordinator closes. One that cannot be handed back keeps its lease until it
   * runs out: said in a warning, and the others are still handed back.
   */
  async #handBack(messages: ClaimedMessage[]): Promise<void> {
    for (const message of messages) {
      await this.#nack(message, undefined, { handBack: true }).catch((error: unknown) =>
        this.#warnUnsettled(message, 'handed back', error),
      )
    }
  }

  #warnUnsettled(message: ClaimedMessage, what: string, error: unknown): void {
    this.#log.warn(
      { messageId: message.message.id, agent: message.lease.recipient },
      `A message claimed by a stopped messages() loop could not be ${what} (${(error as Error).message}); while its lease holds nobody else gets it, then it is redelivered`,
    )
  }

  /**
   * Before a `messages` loop yields `batch[next]` with half of the batch's lease gone: acks what the body
   * finished (autoAck; its lease would run out before the batch's settle-and-claim) and extends the leases
   * of the messages not yet yielded. One whose lease was lost meanwhile (it ran out and another consumer
   * claimed it, or it was dead-lettered) is dropped from the batch rather than yielded without a lease.
   */
  async #keepBatch(
    batch: ClaimedMessage[],
    next: number,
    handled: ClaimedMessage[],
    leaseSeconds: number,
  ): Promise<void> {
    for (const message of handled.splice(0)) {
      if (!this.#settled.has(message)) await this.ack(message)
    }
    const kept: ClaimedMessage[] = []
    for (const message of batch.slice(next)) {
      try {
        const { leaseUntil } = await this.extendLease(message, undefined, { leaseSeconds })
        message.lease.leaseUntil = leaseUntil
        kept.push(message)
      } catch (error) {
        if (!isAgentCommError(error, 'LEASE_LOST') && !isAgentCommError(error, 'INVALID_STATE')) throw error
        this.#log.warn(
          { messageId: message.message.id, agent: message.lease.recipient },
          `The lease of a message claimed ahead by a messages() loop was lost before the loop reached it; it is not yielded (${(error as Error).message})`,
        )
      }
    }
    batch.splice(next, batch.length - next, ...kept)
  }

  /**
   * Acks what a `messages` loop finished and polls for the next, in one transaction when the transport
   * offers settle-and-claim and every ack goes through it.
   */
  async #settleAndPoll(
    agentId: string,
    finished: ClaimedMessage[],
    claim: { limit: number; leaseSeconds?: number },
  ): Promise<ClaimedMessage[]> {
    this.#open()
    const acks = finished.filter((m) => !this.#settled.has(m))
    const profile = await this.#registry.get(agentId)
    const transport = this.#router.for(profile)
    if (
      acks.length === 0 ||
      transport.ackAndClaim === undefined ||
      acks.some((m) => this.#claimedThrough.get(m) !== transport)
    ) {
      for (const message of acks) await this.ack(message)
      return this.poll(agentId, claim)
    }
    const ackAndClaim = transport.ackAndClaim.bind(transport)
    // The same trail as an ack then a poll: an `agent-comm ack` span per settled message, and one
    // `agent-comm claim` span (with a receive span per message) for what the transaction leased.
    // The ack spans are not children of the claim span: each goes where a separate ack's would.
    return inAckSpans(acks, () =>
      inSpan(
        'agent-comm claim',
        SpanKind.CONSUMER,
        () => ({
          'messaging.system': 'agent-comm',
          'agent_comm.agent': agentId,
          'agent_comm.acked': acks.length,
        }),
        async (span) => {
          const claimed = await ackAndClaim(
            acks.map((m) => ({
              messageId: m.message.id,
              agent: m.lease.recipient,
              receipt: m.lease.receipt,
            })),
            agentId,
            { limit: claim.limit, leaseSeconds: claim.leaseSeconds ?? this.#settings.leaseSeconds },
          )
          for (const message of acks) this.#settled.add(message)
          for (const message of claimed) this.#claimedThrough.set(message, transport)
          span?.setAttribute('messaging.batch.message_count', claimed.length)
          if (claimed.length === 1 && span?.isRecording())
            span.setAttributes(claimedAttributes(claimed[0] as ClaimedMessage))
          for (const message of claimed) recordReceive(message)
          await this.#registry.touch(agentId)
          return claimed
        },
      ),
    )
  }

  /** Marks a message handled. Pass the claimed message (its receipt guards against a lost lease) or an id. */
  async ack(ref: MessageRef, agent?: string, options: { receipt?: string } = {}): Promise<AckResult> {
    this.#open()
    return this.#ack(ref, agent, options)
  }

  /** {@link ack} without the closed check: `close` settles what running loops finished through it. */
  async #ack(ref: MessageRef, agent?: string, options: { receipt?: string } = {}): Promise<AckResult> {
    const { messageId, agentId, receipt } = this.#target(ref, agent, options.receipt)
    return inSpan(
      'agent-comm ack',
      SpanKind.INTERNAL,
      () => settleAttributes(ref, messageId, agentId),
      async () => {
        const transport = await this.#settleThrough(ref, agent, agentId)
        const result = await this.#fenced(
          { messageId, agentId, receipt, byHand: typeof ref === 'string' },
          () => transport.ack(messageId, agentId, { receipt }),
        )
        if (typeof ref !== 'string') this.#settled.add(ref)
        await this.#registry.touch(agentId)
        return result
      },
      settleParent(ref),
    )
  }

  /**
   * Hands a message back for a retry, with a reason; it is dead-lettered when out of attempts, or at once
   * with `deadLetter: true`. With `handBack: true` (the consumer never began on it) the attempt its claim
   * counted is given back and it is visible again at once.
   */
  async nack(ref: MessageRef, agent?: string, options: TransportNackOptions = {}): Promise<NackResult> {
    this.#open()
    return this.#nack(ref, agent, options)
  }

  /** {@link nack} without the closed check: `close` hands back what running loops claimed ahead through it. */
  async #nack(ref: MessageRef, agent?: string, options: TransportNackOptions = {}): Promise<NackResult> {
    const { messageId, agentId, receipt } = this.#target(ref, agent, options.receipt)
    return inSpan(
      'agent-comm nack',
      SpanKind.INTERNAL,
      () => settleAttributes(ref, messageId, agentId),
      async (span) => {
        const transport = await this.#settleThrough(ref, agent, agentId)
        const result = await this.#fenced(
          { messageId, agentId, receipt, byHand: typeof ref === 'string' },
          () => transport.nack(messageId, agentId, { ...options, receipt }),
        )
        if (typeof ref !== 'string') this.#settled.add(ref)
        if (result.status === 'failed') span?.setAttribute('agent_comm.dead_lettered', true)
        await this.#registry.touch(agentId)
        return result
      },
      settleParent(ref),
    )
  }

  /** Keeps the lease of a message still being worked on. */
  async extendLease(
    ref: MessageRef,
    agent?: string,
    options: { leaseSeconds?: number; receipt?: string } = {},
  ) {
    this.#open()
    const { messageId, agentId, receipt } = this.#target(ref, agent, options.receipt)
    const transport = await this.#settleThrough(ref, agent, agentId)
    return this.#fenced({ messageId, agentId, receipt, byHand: typeof ref === 'string' }, () =>
      transport.extendLease(messageId, agentId, {
        leaseSeconds: options.leaseSeconds ?? this.#settings.leaseSeconds,
        receipt,
      }),
    ) as Promise<ExtendLeaseResult>
  }

  /**
   * Runs an ack, nack or lease extension fenced by `receipt`, and turns a `LEASE_LOST` for a receipt given
   * by hand that was in fact a wrong receipt on a live lease, or one for a message never claimed, into what
   * it was (see
   * {@link diagnoseReceipt}), looking the delivery up wherever the message is held.
   */
  async #fenced<T>(
    use: { messageId: string; agentId: string; receipt: string | undefined; byHand: boolean },
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      return await run()
    } catch (error) {
      const { receipt } = use
      if (!use.byHand || receipt === undefined || !isAgentCommError(error, 'LEASE_LOST')) throw error
      // The lost lease stands if the delivery cannot be looked up: it is the transport's own answer.
      const status = await this.status(use.messageId).catch(() => undefined)
      const delivery = status?.deliveries.find((d) => d.recipient === use.agentId)
      throw diagnoseReceipt(
        error,
        { messageId: use.messageId, agentId: use.agentId, receipt },
        delivery,
        this.#clock.now(),
      )
    }
  }

  /**
   * A message and every delivery of it, from whichever transport holds it: the local spool first, then
   * the relays and folders of remote agents. A remote transport that cannot be asked (a relay that is
   * down, a missing secret) does not stop the search; if no transport has the message, the
   * `MessageNotFoundError` says which could not be asked and why. `options.as`: an agent that may see the
   * message (its sender or a recipient), which a relay is asked as — a fresh process has acted as nobody.
   */
  async status(messageId: string, options: { as?: string } = {}): Promise<MessageStatus> {
    this.#open()
    const asked = new Set<Transport>()
    const unasked: string[] = []
    const ask = async (
      transport: Transport,
      remote?: AgentProfile,
      as: { as?: string } = options,
    ): Promise<MessageStatus | undefined> => {
      if (asked.has(transport)) return undefined
      asked.add(transport)
      try {
        return await transport.status(messageId, as)
      } catch (error) {
        if (isAgentCommError(error, 'MESSAGE_NOT_FOUND')) return undefined
        if (remote === undefined && transport.kind === 'sqlite') throw error
        unasked.push(
          `${transport.kind}${remote === undefined ? '' : ` (agent '${remote.agentId}')`}: ${(error as Error).message}`,
        )
        return undefined
      }
    }
    for (const transport of this.#router.all()) {
      const found = await ask(transport)
      if (found !== undefined) return found
    }
    // Not in any transport used so far: a fresh process has not opened the relays and file folders of
    // remote agents yet, so look through the transport of every registered agent that is not local.
    for (const profile of await this.#registry.list()) {
      if (profile.transport === 'sqlite') continue
      let transport: Transport
      try {
        transport = this.#router.for(profile)
      } catch {
        continue // no transport of that kind configured here
      }
      // Asked as the reader given, else as that remote agent (it may have been sent the message).
      const found = await ask(transport, profile, { as: options.as ?? profile.agentId })
      if (found !== undefined) return found
    }
    if (unasked.length === 0) throw new MessageNotFoundError(messageId)
    throw new MessageNotFoundError(messageId, {
      hint: `It may be held where it could not be looked up: ${unasked.join('; ')}`,
      details: { unasked },
    })
  }

  /**
   * Every message of a conversation, oldest first. With `visibleTo`, only the messages that agent sent or
   * was addressed or delivered (a caller reading as one agent).
   */
  async conversation(conversationId: string, options: { visibleTo?: string } = {}): Promise<MessageV2[]> {
    this.#open()
    return this.#spool.conversation(conversationId, options)
  }

  /**
   * Threads with participants, message count and last activity, most recent first; with `visibleTo`, only
   * the threads that agent may see a message of, each summarised over those messages.
   */
  async conversations(
    options: { limit?: number; agent?: string; visibleTo?: string } = {},
  ): Promise<ConversationSummary[]> {
    this.#open()
    return this.#spool.conversations(options)
  }

  /** Messages by words, sender, recipient, conversation and time (only those `visibleTo` may see, if given). */
  async search(query: SearchQuery = {}): Promise<MessageV2[]> {
    this.#open()
    return this.#spool.search(query)
  }

  /** Spool statistics with the registry's agent presence. */
  async stats(): Promise<SpoolStats & { registeredAgents: Record<AgentProfile['status'], number> }> {
    this.#open()
    const [stats, registeredAgents] = await Promise.all([this.#spool.stats(), this.#registry.countByStatus()])
    return { ...stats, registeredAgents }
  }

  /** Removes expired (and optionally long-acked) messages. */
  async cleanup(options: CleanupOptions = {}): Promise<CleanupReport> {
    this.#open()
    return this.#spool.cleanup(options)
  }

  /**
   * The messages waiting for `agent` — queued (due or delayed) or leased — with their deliveries, most
   * urgent first, at most `limit` (50): a peek at its inbox that claims nothing. Only the local spool can
   * be read this way; for an agent on the file or http transport it fails with a `ValidationError`.
   */
  async pending(agent: string, options: { limit?: number } = {}): Promise<PendingDelivery[]> {
    this.#open()
    const agentId = parseOrThrow(AgentIdSchema, agent, 'agent id')
    const profile = await this.#registry.get(agentId)
    if (profile !== undefined && profile.transport !== 'sqlite') {
      throw new ValidationError(
        `Agent '${agentId}' receives through the ${profile.transport} transport, whose inbox cannot be read without claiming`,
        [],
        { hint: `Claim its messages instead: agent-comm poll ${agentId}` },
      )
    }
    const pending = await this.#spool.pending(agentId, options)
    // As poll: an unregistered name with nothing waiting is more likely a typo than a newcomer.
    if (profile === undefined && pending.length === 0 && !this.#settings.allowUnregistered) {
      throw new AgentNotFoundError(agentId)
    }
    return pending
  }

  /** Dead-lettered deliveries. */
  async listFailed(options: { agent?: string; limit?: number } = {}): Promise<FailedDelivery[]> {
    this.#open()
    return this.#spool.listFailed(options)
  }

  /** Requeues dead-lettered deliveries with fresh attempts. */
  async retryFailed(messageId: string, agent?: string): Promise<{ requeued: number }> {
    this.#open()
    return this.#spool.retryFailed(messageId, agent)
  }

  /**
   * Where the local spool and the registry keep their data: the kind of each store and the location of the
   * spool's (a SQLite file, or a PostgreSQL URL without its password — safe to print).
   */
  get storage(): CoordinatorStorage {
    return { path: this.#spool.path, spool: this.#spool.storeKind, registry: this.#registry.store.kind }
  }

  /** The profile of a registered agent, or `undefined` for a name nobody registered. */
  async agent(agentId: string): Promise<AgentProfile | undefined> {
    this.#open()
    return this.#registry.get(agentId)
  }

  /** Registered agents, filtered by capability, status or device (see `ListFilter`). */
  async agents(filter: ListFilter = {}): Promise<AgentProfile[]> {
    this.#open()
    return this.#registry.list(filter)
  }

  /** Records that a registered agent is alive; fails with `AGENT_NOT_FOUND` for an unknown one. */
  async heartbeat(agentId: string): Promise<AgentProfile> {
    this.#open()
    return this.#registry.heartbeat(agentId)
  }

  /** Removes an agent's profile; its queued messages stay in the spool. */
  async deregister(agentId: string): Promise<void> {
    this.#open()
    await this.#registry.deregister(agentId)
  }

  /**
   * The local spool's pending (queued or leased) deliveries to `agent`, most urgent first, at most `limit`
   * (50), claiming nothing. Unlike {@link Coordinator.pending} it neither looks the agent up nor refuses
   * an unknown name: for watchers (MCP channels, inbox resources) that peek often and check identity
   * elsewhere. Agents on the file or http transport have nothing here.
   */
  async peek(agent: string, options: { limit?: number } = {}): Promise<PendingDelivery[]> {
    this.#open()
    return this.#spool.pending(agent, options)
  }

  /**
   * Calls `onChange` when another process (or connection) may have committed to the local store: a hint,
   * read again to see what changed. Returns the function that stops watching.
   */
  watch(onChange: () => void): () => void {
    this.#open()
    return this.#spool.watch(onChange)
  }

  /** Integrity and invariant checks of the local database. */
  async verify(): Promise<VerifyReport> {
    this.#open()
    return this.#spool.verify()
  }

  /**
   * Closes the transports the coordinator created, then whatever the composition root asked it to. Running
   * `messages` loops yield nothing more; the messages they claimed but did not yield are handed back first
   * (and, with `autoAck`, the ones they finished are acked), while the transports are still open.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const settle of [...this.#loops]) await settle()
    await this.#router.close()
    await this.#onClose?.()
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('This coordinator')
  }

  #complete(input: MessageInput | MessageV2): MessageV2 {
    const message =
      'version' in input
        ? parseMessage(input)
        : createMessage(
            {
              ...input,
              routing: { ...input.routing, ttlHours: input.routing?.ttlHours ?? this.#settings.ttlHours },
            },
            { clock: this.#clock, ids: this.#ids },
          )
    // Refused before any transport (the file transport has no spool to refuse it): a malformed trace
    // would be kept as the message's own and replace the sender's real context.
    assertTraceMetadata(message.metadata)
    return message
  }

  /**
   * Holds a group message in the local spool for agents that register later, then hands it to the local
   * agents that registered while it was being sent: a registration committed before the hold did not see
   * it, and one committed after gets it from the registry itself, so re-reading the registry once the hold
   * is stored closes the gap. Deliveries are unique per message and agent, so overlaps cost nothing.
   */
  async #hold(
    message: MessageV2,
    targets: { agentId: string }[],
    maxAttempts: number | undefined,
  ): Promise<string> {
    const { heldUntil } = await this.#spool.hold(message, { maxAttempts })
    const reached = new Set(targets.map((t) => t.agentId))
    for (const profile of await this.#groupMembers(message)) {
      if (reached.has(profile.agentId) || profile.transport !== 'sqlite') continue
      await this.#spool.releaseHeld(profile.agentId, profile.capabilities)
    }
    return heldUntil
  }

  /** The registered agents a `*` or `capability:<name>` message is for, its sender excluded. */
  async #groupMembers(message: MessageV2): Promise<AgentProfile[]> {
    return (await this.#registry.groupMembers(message.toAgent, message.fromAgent)) ?? []
  }

  async #recipients(
    message: MessageV2,
    allowUnregistered: boolean,
    hold: boolean,
  ): Promise<{ agentId: string; profile: AgentProfile | undefined }[]> {
    const to = message.toAgent
    if (isGroupTarget(to)) {
      const targets = (await this.#groupMembers(message)).map((profile) => ({
        agentId: profile.agentId,
        profile,
      }))
      // A group send that reaches nobody would store nothing and hand back an id no one can look up;
      // held, it is stored and waits for agents that register later.
      if (targets.length === 0 && !hold) {
        throw new NoRecipientsError(
          to === BROADCAST_TARGET ? undefined : to.slice(CAPABILITY_TARGET_PREFIX.length),
        )
      }
      return targets
    }
    const profile = await this.#registry.get(to)
    // `a2a:<caller>` is an external A2A caller (its inbox is read by the relay's A2A endpoint): no agent can
    // register that name, so a reply to it is routed like one to an unregistered agent.
    if (profile === undefined && !allowUnregistered && !to.startsWith(A2A_CALLER_PREFIX))
      throw new AgentNotFoundError(to)
    return [{ agentId: to, profile }]
  }

  /**
   * Where a message to an agent no registry here knows goes: the default route — except an external A2A
   * caller (`a2a:<caller>`), whose inbox is at the relay whose A2A endpoint it called. An http agent answers
   * it through its own relay (where the caller's message came from); any other sender, on this database
   * (where a relay's own agents and bridges keep it).
   */
  async #unregisteredRoute(agentId: string, message: MessageV2): Promise<Transport> {
    if (agentId.startsWith(A2A_CALLER_PREFIX)) {
      const sender = await this.#registry.get(message.fromAgent)
      if (sender?.transport === 'http') return this.#router.for(sender)
    }
    return this.#router.for(undefined)
  }

  /**
   * The transport holding `agentId`'s deliveries. An unregistered agent's are on the default route (they
   * were sent with allowUnregistered); `strict` refuses it instead, so a mistyped name in a poll says so
   * rather than finding nothing.
   */
  async #transportOf(agentId: string, strict = false): Promise<Transport> {
    const profile = await this.#registry.get(agentId)
    if (profile === undefined && strict && !this.#settings.allowUnregistered)
      throw new AgentNotFoundError(agentId)
    return this.#router.for(profile)
  }

  /** Where to settle `ref`: the transport a message from `poll` came through, else the agent's own. */
  async #settleThrough(ref: MessageRef, agent: string | undefined, agentId: string): Promise<Transport> {
    const claimedThrough =
      typeof ref === 'string' || (agent !== undefined && agent !== ref.lease.recipient)
        ? undefined
        : this.#claimedThrough.get(ref)
    return claimedThrough ?? this.#transportOf(agentId)
  }

  #target(ref: MessageRef, agent: string | undefined, receipt: string | undefined) {
    if (typeof ref === 'string') {
      if (agent === undefined) {
        throw new ValidationError('Invalid call: name the agent whose delivery this is', [
          { path: 'agent', message: 'required when the message is given by id' },
        ])
      }
      return { messageId: ref, agentId: parseOrThrow(AgentIdSchema, agent, 'agent id'), receipt }
    }
    return {
      messageId: ref.message.id,
      agentId: agent ?? ref.lease.recipient,
      receipt: receipt ?? ref.lease.receipt,
    }
  }
}

/**
 * The parent of a reply's send span: the active span when it is in the request's trace already (a bridge
 * forward, a request span), else the trace the request carries, so the reply is a child of the request.
 */
function replyParent(source: MessageV2): Parent {
  const active = activeContext()
  const carried = carriedContext(source, active)
  if (carried === active) return active
  const activeIds = spanContextOf(active)
  return activeIds !== undefined && activeIds.traceId === spanContextOf(carried)?.traceId ? active : carried
}

/** Where an ack or nack span goes: under the active span, or else in the trace of the claimed message. */
function settleParent(ref: MessageRef): Parent {
  return typeof ref === 'string' ? activeContext() : settleParentOf(ref.message)
}

function settleAttributes(ref: MessageRef, messageId: string, agentId: string) {
  return typeof ref === 'string'
    ? { 'messaging.system': 'agent-comm', 'messaging.message.id': messageId, 'agent_comm.agent': agentId }
    : { ...claimedAttributes(ref), 'agent_comm.agent': agentId }
}

/**
 * The agents whose reply resolves a request: those it was delivered to — another agent that learnt its id
 * cannot answer in their place — and, for an `approval_request`, the expiry decider that answers one whose
 * deadline passed and the operator, who may decide any approval in the console (`APPROVAL_DECIDERS`, and
 * `operator`: a relay whose admin id is another adds it when asked). The spool accepts a decision only from
 * the agent it names as `decidedBy`.
 */
function repliersOf(
  request: MessageV2,
  recipients: readonly string[],
): { from: readonly string[]; operator: boolean } {
  return request.payload?.type === 'approval_request'
    ? { from: [...recipients, ...APPROVAL_DECIDERS], operator: true }
    : { from: recipients, operator: false }
}

/** Who may answer a request, read from its status (its deliveries as they stand, and whether it is held). */
function repliersIn(status: MessageStatus & { heldUntil?: string }): Repliers {
  return {
    ...repliersOf(
      status.message,
      status.deliveries.map((d) => d.recipient),
    ),
    held: status.heldUntil !== undefined,
  }
}

/** An idempotency key cannot be kept by the file transport: refused rather than silently not kept. */
function refuseKeyOnFileTransport(groups: Map<Transport, string[]>): void {
  for (const [transport, recipients] of groups) {
    if (transport.kind !== 'file') continue
    throw new ValidationError(
      `Invalid send: ${recipients.map((r) => `'${r}'`).join(', ')} receive through the file transport, which cannot keep idempotency keys`,
      [{ path: 'idempotencyKey', message: 'not supported for recipients on the file transport' }],
      {
        hint: 'Send without an idempotency key (a retry with the same message id is still a duplicate there).',
      },
    )
  }
}

/** `profile` without its keys set to undefined, so they do not hide the defaults spread before it. */
function withoutUndefined(profile: AgentProfileInput): AgentProfileInput {
  return Object.fromEntries(
    Object.entries(profile).filter(([, value]) => value !== undefined),
  ) as AgentProfileInput
}

/** When half the lease of a claimed message is gone (`leaseMs` being its full length). */
function halfLease(claimed: ClaimedMessage, leaseMs: number): number {
  return Date.parse(claimed.lease.leaseUntil) - leaseMs / 2
}
