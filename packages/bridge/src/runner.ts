import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Coordinator } from '@agent-comm/coordinator'
import { messageTraceContext, traceMetadataOfContext } from '@agent-comm/coordinator'
import type { ClaimedMessage, Clock, Logger, Payload, TraceMetadata } from '@agent-comm/protocol'
import {
  AgentIdSchema,
  ClaimLimitSchema,
  DEFAULT_CLAIM_LIMIT,
  DEFAULT_LEASE_SECONDS,
  isAgentCommError,
  isUnavailableError,
  LeaseSecondsSchema,
  MAX_POLL_WAIT_MS,
  MAX_TIMER_MS,
  parseOrThrow,
  silentLogger,
  systemClock,
} from '@agent-comm/protocol'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { z } from 'zod'
import { type Bridge, type BridgeResult, describeError } from './bridge.js'
import { failureReason } from './failure-reason.js'

/**
 * The bridge's tracer, looked up at each forward rather than kept from module load: a tracer taken before
 * the application registers its SDK stays a no-op when the registration goes through another proxy (after
 * `trace.disable()`, or through the CommonJS build of `@opentelemetry/api`, which CommonJS SDKs use).
 */
const tracer = () => trace.getTracer('@agent-comm/bridge')

/** The part of a coordinator a bridge runner uses. */
export type BridgeCoordinator = Pick<Coordinator, 'poll' | 'ack' | 'nack' | 'extendLease' | 'reply'>

/** Something that happened to one message, with how long it took. */
export type BridgeEvent =
  | { type: 'received'; messageId: string; attempt: number }
  | { type: 'forwarded'; messageId: string; success: boolean; durationMs: number; error?: string }
  | { type: 'replied'; messageId: string; replyId: string; durationMs: number }
  | { type: 'acked'; messageId: string; durationMs: number }
  | { type: 'nacked'; messageId: string; durationMs: number; reason: string; deadLettered: boolean }
  | { type: 'error'; messageId: string; error: string }
  /** The relay could not be reached (restarting, stopping): the bridge polls again in `retryInMs`. */
  | { type: 'unavailable'; error: string; retryInMs: number }

/** Options of {@link BridgeRunner}: what it runs, and the numbers of `OptionsSchema` (checked when it starts). */
export type BridgeRunnerOptions = {
  coordinator: BridgeCoordinator
  /** The agent whose messages the bridge answers. */
  agent: string
  bridge: Bridge
  logger?: Logger | undefined
  clock?: Clock | undefined
  onEvent?: ((event: BridgeEvent) => void) | undefined
} & z.input<typeof OptionsSchema>

/** What a run did. */
export interface RunSummary {
  processed: number
  succeeded: number
  failed: number
}

/** Longest `timeoutMs` of a {@link BridgeRunner}: the longest delay Node's timers can hold (2^31-1 ms). */
export { MAX_TIMER_MS } from '@agent-comm/protocol'

/** Longest `intervalMs` of a {@link BridgeRunner}: an hour, as `poll --wait` allows. */
export const MAX_INTERVAL_MS = MAX_POLL_WAIT_MS

/**
 * Pauses between polls while the relay is out of reach: the first, doubled after each failed poll up to the
 * second. A relay restart takes a second or two; a longer outage is polled every few seconds, not hammered.
 */
const OUTAGE_FIRST_PAUSE_MS = 250
const OUTAGE_MAX_PAUSE_MS = 5_000

const OptionsSchema = z.object({
  /** Messages claimed per poll (10). */
  maxMessages: ClaimLimitSchema.default(DEFAULT_CLAIM_LIMIT),
  /** Messages forwarded at the same time (1). */
  concurrency: z.number().int().min(1, 'must be at least 1').max(256, 'must be at most 256').default(1),
  /** Lease per message in seconds (60); renewed while a forward is still running. */
  leaseSeconds: z
    .number()
    .min(1, 'must be at least 1 second')
    .pipe(LeaseSecondsSchema)
    .default(DEFAULT_LEASE_SECONDS),
  /** Per-message time limit in ms (5 minutes); the forward is aborted and the message nacked. */
  // Node's timers hold at most 2^31-1 ms; a longer timeout would fire at once and fail every message.
  timeoutMs: z
    .number()
    .min(1, 'must be positive')
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms`)
    .default(300_000),
  /** Longest wait for new messages in one poll, in ms (30 000; must be positive); push wakes it earlier. */
  // 0 would make every poll return at once: a loop that spins a core between messages.
  intervalMs: z
    .number()
    .positive('must be positive (0 would poll in a busy loop)')
    .max(MAX_INTERVAL_MS, `must be at most ${MAX_INTERVAL_MS} ms (an hour)`)
    .default(30_000),
})

/**
 * Runs a bridge for one agent: waits for its messages (push, no fixed sleep), claims up to `maxMessages`,
 * forwards them with bounded concurrency, replies in the same conversation, acks on success and nacks on
 * failure (dead-lettering failures a retry cannot fix). Leases are extended while a slow forward runs;
 * on abort, forwards are stopped and their messages nacked, and messages not yet started are handed back,
 * so nothing is lost.
 */
export class BridgeRunner {
  readonly #coordinator: BridgeCoordinator
  readonly #agent: string
  readonly #bridge: Bridge
  readonly #opts: z.output<typeof OptionsSchema>
  readonly #log: Logger
  readonly #clock: Clock
  readonly #onEvent: (event: BridgeEvent) => void

  constructor(options: BridgeRunnerOptions) {
    this.#coordinator = options.coordinator
    this.#agent = parseOrThrow(AgentIdSchema, options.agent, 'agent id')
    this.#bridge = options.bridge
    this.#opts = parseOrThrow(
      OptionsSchema,
      {
        maxMessages: options.maxMessages,
        concurrency: options.concurrency,
        leaseSeconds: options.leaseSeconds,
        timeoutMs: options.timeoutMs,
        intervalMs: options.intervalMs,
      },
      'bridge options',
    )
    this.#log = options.logger ?? silentLogger
    this.#clock = options.clock ?? systemClock
    this.#onEvent = options.onEvent ?? (() => {})
  }

  /**
   * Processes messages until `signal` aborts, or one batch with `once` (an empty queue ends it at once).
   * Resolves with counts; rejects only if the coordinator itself fails (e.g. the database is unusable). A
   * relay out of reach (a restart, a graceful stop), or a database unavailable for now (a PostgreSQL
   * restart or failover, a dropped connection: a transient `StorageError`), is not a failure of a long run:
   * it emits `unavailable` and polls again with backoff until it is back or `signal` aborts.
   */
  async run(
    options: { signal?: AbortSignal | undefined; once?: boolean | undefined } = {},
  ): Promise<RunSummary> {
    const signal = options.signal ?? new AbortController().signal
    const summary: RunSummary = { processed: 0, succeeded: 0, failed: 0 }
    this.#log.info({ agent: this.#agent, bridge: this.#bridge.name }, 'bridge started')
    let pauseMs = 0
    while (!signal.aborted) {
      let batch: ClaimedMessage[]
      try {
        batch = await this.#coordinator.poll(this.#agent, {
          limit: this.#opts.maxMessages,
          leaseSeconds: this.#opts.leaseSeconds,
          // A single poll (`once`) neither waits nor hands the run's signal to the claim.
          ...(options.once ? {} : { waitMs: this.#opts.intervalMs, signal }),
        })
        pauseMs = 0
      } catch (error) {
        if (options.once || !isUnavailableError(error)) throw error
        if (signal.aborted) break
        pauseMs = pauseMs === 0 ? OUTAGE_FIRST_PAUSE_MS : Math.min(pauseMs * 2, OUTAGE_MAX_PAUSE_MS)
        this.#emit({ type: 'unavailable', error: describeError(error), retryInMs: pauseMs })
        await sleep(pauseMs, undefined, { signal }).catch((stopped: unknown) => {
          if (!signal.aborted) throw stopped
        })
        continue
      }
      if (batch.length > 0) await this.#processBatch(batch, signal, summary)
      if (options.once) break
      // Claims are synchronous SQLite calls, so while messages keep coming every await above may settle
      // as a microtask: without a turn of the event loop, timers and signal handlers (the Ctrl-C that
      // aborts `signal`) would never run.
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    this.#log.info({ agent: this.#agent, ...summary }, 'bridge stopped')
    return summary
  }

  async #processBatch(batch: ClaimedMessage[], signal: AbortSignal, summary: RunSummary): Promise<void> {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < batch.length) {
        const claimed = batch[next++]!
        if (signal.aborted) {
          await this.#giveBack(claimed, 'bridge stopped before forwarding it')
          continue
        }
        const ok = await this.#handle(claimed, signal)
        summary.processed++
        if (ok) summary.succeeded++
        else summary.failed++
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.#opts.concurrency, batch.length) }, worker))
  }

  /**
   * Forwards one message and settles it in an `agent-comm bridge forward` span, a child of the trace the
   * message carries: the runtime gets the span's trace context, and the reply continues it. True when acked.
   */
  #handle(claimed: ClaimedMessage, stop: AbortSignal): Promise<boolean> {
    const parent = messageTraceContext(claimed.message)
    const span = tracer().startSpan(
      'agent-comm bridge forward',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'agent-comm',
          'messaging.message.id': claimed.message.id,
          'agent_comm.from_agent': claimed.message.fromAgent,
          'agent_comm.to_agent': claimed.message.toAgent,
          'agent_comm.agent': claimed.lease.recipient,
          'agent_comm.attempt': claimed.lease.attempt,
          'agent_comm.bridge': this.#bridge.name,
        },
      },
      parent,
    )
    const ctx = trace.setSpan(parent, span)
    return context
      .with(ctx, () => this.#forwardAndSettle(claimed, stop, traceMetadataOfContext(ctx)))
      .then(
        (acked) => {
          span.setAttribute('agent_comm.acked', acked)
          if (!acked) span.setStatus({ code: SpanStatusCode.ERROR, message: 'not acked' })
          span.end()
          return acked
        },
        (error: unknown) => {
          span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) })
          span.end()
          throw error
        },
      )
  }

  async #forwardAndSettle(
    claimed: ClaimedMessage,
    stop: AbortSignal,
    traced: TraceMetadata | undefined,
  ): Promise<boolean> {
    const { message, lease } = claimed
    const started = this.#clock.now()
    this.#emit({ type: 'received', messageId: message.id, attempt: lease.attempt })
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs)
    const leaseLost = new AbortController()
    const signal = AbortSignal.any([stop, timeout, leaseLost.signal])
    const keeper = this.#keepLease(claimed, leaseLost)
    let result: BridgeResult
    try {
      result = await this.#bridge.forward(message, {
        signal,
        logger: this.#log,
        attempt: lease.attempt,
        trace: traced,
      })
    } catch (error) {
      result = { success: false, error: describeError(error), retryable: true }
    } finally {
      clearInterval(keeper)
    }
    if (leaseLost.signal.aborted) {
      // Someone else holds the message now; settling it would be refused anyway.
      this.#emit({ type: 'error', messageId: message.id, error: 'lease lost while forwarding' })
      return false
    }
    // A forward that succeeded is settled even during shutdown: the work is done, only its reply and ack
    // remain. One that failed, or ran past its time limit, goes back to the queue.
    if (!result.success || timeout.aborted) {
      // Any bridge's reason (a FunctionBridge's, a custom one's) is bounded and cleaned before it is shown
      // or nacked: an unbounded one would be refused by the nack and leave the message leased.
      const why = failureReason(
        timeout.aborted
          ? `timed out after ${this.#opts.timeoutMs} ms`
          : (result.error ?? 'bridge reported failure'),
      )
      this.#emit({
        type: 'forwarded',
        messageId: message.id,
        success: false,
        durationMs: this.#clock.now() - started,
        error: why,
      })
      await this.#nack(claimed, why, result.retryable === false && !timeout.aborted && !stop.aborted, started)
      return false
    }
    this.#emit({
      type: 'forwarded',
      messageId: message.id,
      success: true,
      durationMs: this.#clock.now() - started,
    })
    try {
      const payload = replyPayloadFor(claimed, result)
      if (result.replyText !== undefined || payload !== undefined) {
        const replyId = await this.#coordinator
          .reply(
            claimed,
            { body: result.replyText ?? '', payload },
            { idempotencyKey: replyKeyFor(message.id) },
          )
          .then(
            (reply) => reply.messageId,
            (error: unknown) => firstReplyOf(error, replyKeyFor(message.id)),
          )
        this.#emit({
          type: 'replied',
          messageId: message.id,
          replyId,
          durationMs: this.#clock.now() - started,
        })
      }
    } catch (error) {
      await this.#nack(claimed, `reply could not be sent: ${describeError(error)}`, false, started)
      return false
    }
    try {
      await this.#coordinator.ack(claimed)
      this.#emit({ type: 'acked', messageId: message.id, durationMs: this.#clock.now() - started })
      return true
    } catch (error) {
      this.#emit({ type: 'error', messageId: message.id, error: `ack failed: ${describeError(error)}` })
      return false
    }
  }

  /** Extends the lease every half lease while the forward runs; aborts the forward if the lease is lost. */
  #keepLease(claimed: ClaimedMessage, leaseLost: AbortController): NodeJS.Timeout {
    const every = (this.#opts.leaseSeconds * 1000) / 2
    return setInterval(() => {
      this.#coordinator
        .extendLease(claimed, undefined, { leaseSeconds: this.#opts.leaseSeconds })
        .catch((error: unknown) => {
          if (isAgentCommError(error, 'LEASE_LOST') || isAgentCommError(error, 'INVALID_STATE')) {
            leaseLost.abort(error)
          }
          this.#emit({
            type: 'error',
            messageId: claimed.message.id,
            error: `extend lease: ${describeError(error)}`,
          })
        })
    }, every)
  }

  async #nack(
    claimed: ClaimedMessage,
    reason: string,
    deadLetter: boolean,
    started: number,
    handBack = false,
  ): Promise<void> {
    reason = failureReason(reason)
    try {
      const result = await this.#coordinator.nack(
        claimed,
        undefined,
        handBack ? { handBack } : { reason, deadLetter },
      )
      this.#emit({
        type: 'nacked',
        messageId: claimed.message.id,
        durationMs: this.#clock.now() - started,
        reason,
        deadLettered: result.status === 'failed',
      })
    } catch (error) {
      // The lease ran out meanwhile: the message is already back in the queue for someone else.
      this.#emit({
        type: 'error',
        messageId: claimed.message.id,
        error: `nack failed: ${describeError(error)}`,
      })
    }
  }

  /** A message claimed but never started: handed back with the attempt its claim counted. */
  async #giveBack(claimed: ClaimedMessage, reason: string): Promise<void> {
    await this.#nack(claimed, reason, false, this.#clock.now(), true)
  }

  #emit(event: BridgeEvent): void {
    const level = event.type === 'error' || event.type === 'unavailable' ? 'warn' : 'debug'
    this.#log[level]({ agent: this.#agent, ...event }, `bridge ${event.type}`)
    try {
      this.#onEvent(event)
    } catch (error) {
      this.#log.warn({ error: describeError(error) }, 'bridge event listener threw')
    }
  }
}

/** The reply's payload: the bridge's, or `task_result` answering a `task_assignment`. */
function replyPayloadFor(claimed: ClaimedMessage, result: BridgeResult): Payload | undefined {
  if (result.replyPayload !== undefined) return result.replyPayload
  if (claimed.message.payload?.type === 'task_assignment') {
    return { type: 'task_result', data: result.replyText ?? null }
  }
  return undefined
}

/**
 * The idempotency key of the reply to a message: a retry after a crash between replying and acking — even
 * one whose runtime answers differently — is a reported duplicate of the first reply, never a second one.
 * Keys are per sender (the bridge's agent), so no other agent can pre-empt or probe it, as it could a
 * derived message id.
 */
export function replyKeyFor(messageId: string): string {
  return `reply:${messageId}`
}

/**
 * The id of the reply already sent under `key`, when `error` is the `CONFLICT` of a redelivered message
 * answered differently this time (a keyed send with other content is refused, the first reply kept): the
 * message is answered, and acking it is right. Any other error is rethrown.
 */
function firstReplyOf(error: unknown, key: string): string {
  if (isAgentCommError(error, 'CONFLICT')) {
    const details = error.details as { idempotencyKey?: unknown; originalId?: unknown } | undefined
    if (details?.idempotencyKey === key && typeof details.originalId === 'string') return details.originalId
  }
  throw error
}

/**
 * A message id derived from the message answered and the answering agent. No longer used for replies: a
 * co-recipient that learns it could take the id first (see {@link replyKeyFor}).
 * @deprecated Replies are made idempotent with {@link replyKeyFor}.
 */
export function replyIdFor(messageId: string, agent: string): string {
  return `re_${createHash('sha256').update(`${agent}\n${messageId}`).digest('hex').slice(0, 40)}`
}
