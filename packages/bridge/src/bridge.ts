import type { Logger, MessageV2, Payload, TraceMetadata } from '@agent-comm/protocol'
import { errorMessage, MAX_TIMER_MS, ValidationError } from '@agent-comm/protocol'

/** What a bridge gets besides the message. */
export interface BridgeContext {
  /** Aborted on the per-message timeout and on shutdown: stop the work and return. */
  signal: AbortSignal
  logger: Logger
  /** Which attempt at this message this is, from 1. */
  attempt: number
  /**
   * The W3C trace context of the bridge's forward span, when the message is part of a trace: pass it on
   * to the runtime (the command bridge sets `TRACEPARENT`/`TRACESTATE`, the webhook bridge sends the
   * `traceparent`/`tracestate` headers) so its work joins the trace.
   */
  trace?: TraceMetadata
}

/** The outcome of forwarding one message. */
export interface BridgeResult {
  success: boolean
  /** The answer, sent back to the sender as a reply in the same conversation. */
  replyText?: string
  /** A typed payload for the reply (default: `task_result` when the message was a `task_assignment`). */
  replyPayload?: Payload
  /** Why it failed (becomes the delivery's last error). */
  error?: string
  /** False for a failure a retry cannot fix: the message is dead-lettered at once. Default true. */
  retryable?: boolean
}

/** Connects one external agent runtime: a command, a webhook, a function. */
export interface Bridge {
  /** A short description for logs, e.g. `command ./agent.sh`. */
  readonly name: string
  /** Hands the message to the runtime and returns its answer. Must honour `context.signal`. */
  forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult>
  /** True when the runtime is reachable (the command runs its health check, the webhook answers). */
  isAvailable(signal?: AbortSignal): Promise<boolean>
  /**
   * Like `isAvailable`, with the reason when the runtime is not reachable. Optional so that existing bridges
   * keep compiling; a caller falls back to `isAvailable` (and has no reason to show) when it is absent.
   */
  checkAvailability?(signal?: AbortSignal): Promise<Availability>
}

/** Whether a bridge's runtime is reachable and, when not, why, in words a user can act on. */
export interface Availability {
  available: boolean
  /** Why the runtime is not reachable (absent when it is). */
  reason?: string
  /** What to do about it, when the bridge knows better than its caller (absent when it does not). */
  hint?: string
}

/** How long a health check (`isAvailable`, `checkAvailability`) may take by default, in ms (10 s). */
export const DEFAULT_HEALTH_TIMEOUT_MS = 10_000

/**
 * A bridge's `healthTimeoutMs` option, checked: a positive whole number of ms, {@link DEFAULT_HEALTH_TIMEOUT_MS}
 * when left out. `ValidationError` otherwise, naming the bridge class.
 */
export function healthTimeoutOf(bridge: string, value: number | undefined): number {
  if (value === undefined) return DEFAULT_HEALTH_TIMEOUT_MS
  if (Number.isInteger(value) && value >= 1 && value <= MAX_HEALTH_TIMEOUT_MS) return value
  throw new ValidationError(
    `Invalid ${bridge} healthTimeoutMs: must be a whole number of ms from 1 to ${MAX_HEALTH_TIMEOUT_MS} (got ${String(value)})`,
    [{ path: 'healthTimeoutMs', message: `must be a whole number from 1 to ${MAX_HEALTH_TIMEOUT_MS}` }],
    { hint: `Leave it out for ${DEFAULT_HEALTH_TIMEOUT_MS / 1000} s.` },
  )
}

/** Longest health-check time, in ms: what Node's timers hold. */
const MAX_HEALTH_TIMEOUT_MS = MAX_TIMER_MS

/** How a health check that ran out of time is described: `did not answer within 10 s`. */
export function withinSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`
}

/**
 * Largest answer a bridge reads from its runtime, in bytes (1 MiB): a command's stdout or stderr, a
 * webhook's response body. More fails the message for good, since the same runtime would answer the same.
 */
export const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024

/** A plain-text description of an error: the protocol's `errorMessage`, under the name bridges export. */
export const describeError: (error: unknown) => string = errorMessage
