import type { Clock } from '@agent-comm/protocol'
import { retryAfterMs } from '@agent-comm/protocol/retry-after'
import { ErrorResponseSchema, RelayErrorCode } from './api.js'
import { headerOf } from './response-body.js'

/** Errors that mean the request never reached the relay: safe to retry any call. */
export const CONNECT_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

/** Errors after which the request may or may not have been handled: retried for idempotent calls only. */
export const CONNECTION_LOST_ERRORS: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

/** Longest `Retry-After` a retry waits for by default, in ms. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 10_000

/** How a {@link Backoff} waits (see `RelayClientOptions`). */
export interface BackoffOptions {
  retryDelayMs?: number | undefined
  maxRetryAfterMs?: number | undefined
  sleep?: ((ms: number, signal: AbortSignal | undefined) => Promise<void>) | undefined
}

/** The waits between attempts: exponential backoff with jitter, or the relay's `Retry-After` (bounded). */
export class Backoff {
  readonly #retryDelayMs: number
  readonly #maxRetryAfterMs: number
  /** Waits `ms`: a timer by default; rejects with `signal`'s reason when it aborts. */
  readonly sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>

  constructor(options: BackoffOptions) {
    this.#retryDelayMs = options.retryDelayMs ?? 50
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS
    this.sleep = options.sleep ?? sleep
  }

  /** Waits before attempt `attempt + 1` ({@link delay}). */
  async wait(attempt: number, signal: AbortSignal | undefined, retryAfter?: number): Promise<void> {
    await this.sleep(this.delay(attempt, retryAfter), signal)
  }

  /**
   * The wait before attempt `attempt + 1`: exponential backoff with jitter, or longer if the relay said so
   * (its Retry-After, cut to `maxRetryAfterMs`).
   */
  delay(attempt: number, retryAfter?: number): number {
    const delay = Math.min(this.#retryDelayMs * 2 ** attempt, 2_000) * (0.5 + Math.random() / 2)
    return Math.max(delay, Math.min(retryAfter ?? 0, this.#maxRetryAfterMs))
  }
}

/** Waits `ms`, or rejects with `signal`'s reason once it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** A 503's `Retry-After` in ms (see `@agent-comm/protocol/retry-after`), read against `clock`. */
export function retryAfterOf(
  headers: Record<string, string | string[] | undefined>,
  clock: Clock,
): number | undefined {
  return retryAfterMs(headerOf(headers, 'retry-after'), clock.now())
}

/** Whether a 503's body says an overloaded relay shed the request (so it did nothing with it). */
export function isShed(text: string): boolean {
  try {
    const parsed = ErrorResponseSchema.safeParse(JSON.parse(text))
    return parsed.success && parsed.data.error.details?.overloaded === true
  } catch {
    return false
  }
}

/** Whether an answer is the relay refusing a long poll or stream for want of a wait slot (429 TOO_MANY_WAITS). */
export function isTooManyWaits(status: number, text: string): boolean {
  if (status !== 429) return false
  try {
    const parsed = ErrorResponseSchema.safeParse(JSON.parse(text))
    return parsed.success && parsed.data.error.code === RelayErrorCode.TOO_MANY_WAITS
  } catch {
    return false
  }
}
