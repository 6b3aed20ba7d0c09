import type { Clock } from '@agent-comm/protocol'

/** A count allowed per window: failed authentications per address, or work units per agent. */
export interface WindowLimit {
  max: number
  timeWindowMs: number
}

/** How many keys are tracked at most; the oldest windows go first beyond it. */
const MAX_TRACKED = 10_000

/**
 * Counts per key (a client address, an agent) in fixed windows that begin with the key's first count.
 * Two uses: failed authentications per address, which the per-agent limit cannot cover (no agent is
 * established), and the per-agent limit itself, charged in work units (a request, or a send's
 * deliveries) rather than requests, so one request cannot buy a thousand fan-outs for the price of one.
 */
export class WindowLimiter {
  readonly limit: WindowLimit
  readonly #clock: Clock
  readonly #windows = new Map<string, { used: number; endsAt: number }>()

  constructor(limit: WindowLimit, clock: Clock) {
    this.limit = limit
    this.#clock = clock
  }

  /** Milliseconds until `key` is below its limit again, or 0 when it is below now. */
  retryAfterMs(key: string): number {
    const window = this.#current(key)
    if (window === undefined) return 0
    return window.used >= this.limit.max ? window.endsAt - this.#clock.now() : 0
  }

  /** Counts a failure of `key`; true when it is the one that reached the limit. */
  fail(key: string): boolean {
    const window = this.#open(key)
    window.used += 1
    return window.used === this.limit.max
  }

  /**
   * Charges `cost` units to `key` if they fit in what is left of its window: 0 when charged, otherwise
   * the milliseconds until its window ends (nothing is charged, so a refused request costs nothing).
   */
  take(key: string, cost: number): number {
    const window = this.#open(key)
    if (window.used + cost > this.limit.max) return window.endsAt - this.#clock.now()
    window.used += cost
    return 0
  }

  #current(key: string): { used: number; endsAt: number } | undefined {
    const window = this.#windows.get(key)
    if (window === undefined) return undefined
    if (this.#clock.now() >= window.endsAt) {
      this.#windows.delete(key)
      return undefined
    }
    return window
  }

  #open(key: string): { used: number; endsAt: number } {
    let window = this.#current(key)
    if (window === undefined) {
      const now = this.#clock.now()
      window = { used: 0, endsAt: now + this.limit.timeWindowMs }
      this.#windows.set(key, window)
      this.#evict(now)
    }
    return window
  }

  /** Bounds memory under a spread-out attack: ended windows first, then the oldest. */
  #evict(now: number): void {
    if (this.#windows.size <= MAX_TRACKED) return
    for (const [key, window] of this.#windows) {
      if (now >= window.endsAt) this.#windows.delete(key)
    }
    for (const key of this.#windows.keys()) {
      if (this.#windows.size <= MAX_TRACKED) break
      this.#windows.delete(key)
    }
  }
}
