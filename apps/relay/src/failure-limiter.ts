import type { Clock } from '@agent-comm/protocol'

/** Failed authentications one client address may make per window before its unsigned requests are refused outright. */
export interface FailureLimit {
  max: number
  timeWindowMs: number
}

/** How many addresses are tracked at most; the oldest windows go first beyond it. */
const MAX_TRACKED = 10_000

/**
 * Counts failed authentications per client address in fixed windows. The per-agent rate limit cannot
 * apply to them (no agent is established), so without this an unauthenticated client could make the relay
 * verify signatures and write warnings as fast as it can send. Until its window ends, an address over the
 * limit gets 429 for every request not correctly signed by a known agent (see the relay's authenticate
 * step), logged once.
 */
export class FailureLimiter {
  readonly limit: FailureLimit
  readonly #clock: Clock
  readonly #windows = new Map<string, { failures: number; endsAt: number }>()

  constructor(limit: FailureLimit, clock: Clock) {
    this.limit = limit
    this.#clock = clock
  }

  /** Milliseconds until `address` may try again, or 0 when it may now. */
  retryAfterMs(address: string): number {
    const window = this.#windows.get(address)
    if (window === undefined) return 0
    const now = this.#clock.now()
    if (now >= window.endsAt) {
      this.#windows.delete(address)
      return 0
    }
    return window.failures >= this.limit.max ? window.endsAt - now : 0
  }

  /** Counts a failure of `address`; true when it is the one that reached the limit. */
  fail(address: string): boolean {
    const now = this.#clock.now()
    let window = this.#windows.get(address)
    if (window === undefined || now >= window.endsAt) {
      this.#windows.delete(address)
      window = { failures: 0, endsAt: now + this.limit.timeWindowMs }
      this.#windows.set(address, window)
      this.#evict(now)
    }
    window.failures += 1
    return window.failures === this.limit.max
  }

  /** Bounds memory under a spread-out attack: ended windows first, then the oldest. */
  #evict(now: number): void {
    if (this.#windows.size <= MAX_TRACKED) return
    for (const [address, window] of this.#windows) {
      if (now >= window.endsAt) this.#windows.delete(address)
    }
    for (const address of this.#windows.keys()) {
      if (this.#windows.size <= MAX_TRACKED) break
      this.#windows.delete(address)
    }
  }
}
