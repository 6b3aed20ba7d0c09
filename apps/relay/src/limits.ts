import type { Clock } from '@agent-comm/protocol'
import { RelayErrorCode } from '@agent-comm/transport-http'
import type { Caller } from './auth.js'
import { HttpProblem } from './http-errors.js'
import { WindowLimiter } from './window-limiter.js'

/** A count per window, or `false` for no limit. */
export type WindowLimit = { max: number; timeWindowMs: number } | false

/**
 * The relay's two limits: work units per agent (its rate limit; a request is one unit, a send one per
 * delivery) and failed authentications per client address. Built once by `createRelay`.
 */
export class RelayLimits {
  readonly #perAgent: WindowLimiter | undefined
  /** Failed authentications per client address; undefined when the relay has no such limit. */
  readonly failures: WindowLimiter | undefined

  constructor(limits: { rateLimit: WindowLimit; authFailureLimit: WindowLimit }, clock: Clock) {
    this.#perAgent = limits.rateLimit === false ? undefined : new WindowLimiter(limits.rateLimit, clock)
    this.failures =
      limits.authFailureLimit === false ? undefined : new WindowLimiter(limits.authFailureLimit, clock)
  }

  /** Charges `units` of `caller`'s rate limit, or throws 429 RATE_LIMITED; a no-op without a rate limit. */
  charge(caller: Caller, units: number): void {
    const perAgent = this.#perAgent
    if (perAgent === undefined || units <= 0) return
    const retryAfterMs = perAgent.take(`agent:${caller.agentId}`, units)
    if (retryAfterMs === 0) return
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
    const { max, timeWindowMs } = perAgent.limit
    throw new HttpProblem(
      429,
      RelayErrorCode.RATE_LIMITED,
      `Too many requests from this agent: at most ${max} units per ${Math.round(timeWindowMs / 1000)} s (a request is one, a send one per delivery); this one needs ${units} more`,
      {
        hint: `Retry after ${seconds} s; batch acks, long-poll instead of polling, and send broadcasts less often.`,
        headers: { 'retry-after': String(seconds) },
        details: { limit: max, timeWindowMs, units },
      },
    )
  }
}
