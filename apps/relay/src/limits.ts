import type { Clock } from '@agent-comm/protocol'
import { WaitSlots } from '@agent-comm/protocol/wait-slots'
import { RelayErrorCode } from '@agent-comm/transport-http'
import type { Caller } from './auth.js'
import { HttpProblem } from './http-errors.js'
import { WindowLimiter } from './window-limiter.js'

/** A count per window, or `false` for no limit. */
export type WindowLimit = { max: number; timeWindowMs: number } | false

/** What an agent holds open waiting: a long-poll claim, a reply claim, a wait, an event stream. */
export type WaitKind = 'claim' | 'claimReply' | 'wait' | 'stream'

/**
 * The relay's limits per agent and per client address: work units per agent (its rate limit; a request is
 * one unit, a send one per delivery), long polls and event streams open per agent, and failed
 * authentications per client address. Built once by `createRelay`.
 */
export class RelayLimits {
  readonly #perAgent: WindowLimiter | undefined
  /** Long polls and event streams open per agent in this process. */
  readonly waits: WaitSlots
  /** Failed authentications per client address; undefined when the relay has no such limit. */
  readonly failures: WindowLimiter | undefined

  constructor(
    limits: { rateLimit: WindowLimit; authFailureLimit: WindowLimit; maxWaitsPerAgent: number },
    clock: Clock,
  ) {
    this.waits = new WaitSlots(limits.maxWaitsPerAgent)
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

  /**
   * Takes one of `agentId`'s slots for a long poll or an event stream, before anything is claimed: the
   * function that gives it back (call it on every way out), or 429 TOO_MANY_WAITS when the agent already
   * holds the most.
   */
  holdWait(agentId: string, kind: WaitKind): () => void {
    const release = this.waits.acquire(agentId)
    if (release !== undefined) return release
    const max = this.waits.max
    throw new HttpProblem(
      429,
      RelayErrorCode.TOO_MANY_WAITS,
      `Agent '${agentId}' already has ${max} long polls and event streams open on this relay (claims and reply claims with a wait, waits, streams); nothing was claimed`,
      {
        hint: `Retry once one of them has ended; one consumer needs one long poll or one stream. Wait on fewer at once (claim with a wait from one loop and hand the messages out), or ask the operator to raise --max-waits (now ${max}).`,
        headers: { 'retry-after': '1' },
        details: { limit: max, kind },
      },
    )
  }
}
