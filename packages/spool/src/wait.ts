/** What the scheduler needs from the spool: cheap questions its store answers, and its change feed. */
export interface WaitSource {
  /** True when `agent` has a delivery it could claim now. */
  hasClaimable(agent: string): Promise<boolean>
  /** When the next delivery of `agent` becomes claimable (ms since epoch), or null if none is pending. */
  nextAvailableAt(agent: string): Promise<number | null>
  /** Starts the store's change feed (hints that another process committed); returns its stop function. */
  watch(onChange: () => void): () => void
  now(): number
}

interface Waiter {
  agent: string
  resolve: (found: boolean) => void
  timer: NodeJS.Timeout | undefined
  wake: NodeJS.Timeout | undefined
  /** The {@link ChangeWatcher} generation its wake timer was last asked for (see `#armWake`). */
  armedAt: number
}

/**
 * Resolves waits for messages without busy-polling, on any store.
 *
 * Commits from this process call {@link notify}; commits from other processes arrive as hints from the
 * store's change feed (`SpoolStore.watch`). Either makes every waiter's agent be asked again. Delayed messages
 * and expiring leases become claimable with no write at all, so each waiter also sets an exact timer for its
 * agent's next `available_at`. A slow safety tick covers a store whose hints are unreliable (network
 * filesystems) or missing.
 */
export class ChangeWatcher {
  readonly #source: WaitSource
  readonly #safetyIntervalMs: number
  readonly #waiters = new Set<Waiter>()
  #stopFeed: (() => void) | undefined
  #safety: NodeJS.Timeout | undefined
  #checkScheduled = false
  #checking = false
  #checkAgain = false
  #closed = false
  /**
   * Counts the hints that something may have changed (a commit here, the feed, the safety tick, the feed
   * starting): a waiter whose wake timer was asked for in the current generation has seen every commit a
   * hint was given for, so a check that finds nothing leaves its timer as it is instead of asking again.
   */
  #generation = 0

  constructor(source: WaitSource, safetyIntervalMs: number) {
    this.#source = source
    this.#safetyIntervalMs = safetyIntervalMs
  }

  /** Resolves true as soon as `agent` has a claimable message, false on timeout or abort. */
  async wait(
    agent: string,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    if (signal?.aborted) return false
    if (timeoutMs === 0 || this.#closed) return this.#source.hasClaimable(agent)
    // No look before parking: the check scheduled once the waiter is parked asks the store anyway (it must,
    // for a commit landing meanwhile), and answers a waiter whose message is already there on the next
    // turn. A long poll has just claimed nothing, so a look before would be one more query per parked
    // poll that nearly always finds nothing (two `hasClaimable` per parked poll before, one now).
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { agent, resolve: () => {}, timer: undefined, wake: undefined, armedAt: -1 }
      const onAbort = (): void => finish(false)
      const finish = (found: boolean): void => {
        if (!this.#waiters.delete(waiter)) return
        clearTimeout(waiter.timer)
        clearTimeout(waiter.wake)
        signal?.removeEventListener('abort', onAbort)
        if (this.#waiters.size === 0) this.#stop()
        resolve(found)
      }
      waiter.resolve = finish
      if (timeoutMs !== undefined) waiter.timer = setTimeout(() => finish(false), timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.add(waiter)
      this.#start()
      // The check asks the store whether a message is there (a commit may have landed before the feed
      // started) and, when none is, arms the waiter's timer for its next delayed message or lease: armed
      // there rather than now, once for all the waiters parked in this turn and after the commits they saw.
      this.#scheduleCheck()
    })
  }

  /** Called after this process committed something that may make messages claimable. */
  notify(): void {
    if (this.#waiters.size > 0) this.#changed()
  }

  /** Resolves every pending wait with false and stops watching. */
  close(): void {
    this.#closed = true
    for (const waiter of [...this.#waiters]) waiter.resolve(false)
    this.#stop()
  }

  #start(): void {
    if (this.#safety !== undefined) return
    // Commits before the feed started gave no hint: a timer asked for before now must be asked for again.
    this.#generation++
    try {
      this.#stopFeed = this.#source.watch(() => this.#changed())
    } catch {
      // No change feed: the exact timers and the safety tick still find messages.
      this.#stopFeed = undefined
    }
    this.#safety = setInterval(() => this.#changed(), this.#safetyIntervalMs)
  }

  #stop(): void {
    this.#stopFeed?.()
    this.#stopFeed = undefined
    clearInterval(this.#safety)
    this.#safety = undefined
  }

  /** A hint that something may have changed: a new generation, and a check of every waiter. */
  #changed(): void {
    this.#generation++
    this.#scheduleCheck()
  }

  #scheduleCheck(): void {
    if (this.#checking) {
      // A check is asking the store now: ask once more when it is done, so no hint is lost.
      this.#checkAgain = true
      return
    }
    if (this.#checkScheduled) return
    this.#checkScheduled = true
    setImmediate(() => {
      this.#checkScheduled = false
      void this.#checkAll()
    })
  }

  async #checkAll(): Promise<void> {
    if (this.#waiters.size === 0) return
    this.#checking = true
    try {
      const answered = new Map<string, Promise<boolean>>()
      for (const waiter of [...this.#waiters]) {
        let found = answered.get(waiter.agent)
        if (found === undefined) {
          found = this.#source.hasClaimable(waiter.agent).catch(() => false)
          answered.set(waiter.agent, found)
        }
        if (await found) waiter.resolve(true)
        else if (this.#waiters.has(waiter) && waiter.armedAt !== this.#generation) void this.#armWake(waiter)
      }
    } finally {
      this.#checking = false
      if (this.#checkAgain) {
        this.#checkAgain = false
        this.#scheduleCheck()
      }
    }
  }

  /** Sets a timer for when the agent's next delayed message or expiring lease becomes claimable. */
  async #armWake(waiter: Waiter): Promise<void> {
    waiter.armedAt = this.#generation
    let at: number | null
    try {
      at = await this.#source.nextAvailableAt(waiter.agent)
    } catch {
      return
    }
    if (!this.#waiters.has(waiter)) return
    clearTimeout(waiter.wake)
    waiter.wake = undefined
    if (at === null) return
    // Timers cap at ~24.8 days; the safety tick and later commits re-arm long waits.
    const delay = Math.min(Math.max(0, at - this.#source.now()) + 1, 2_000_000_000)
    waiter.wake = setTimeout(async () => {
      let found = false
      try {
        found = await this.#source.hasClaimable(waiter.agent)
      } catch {
        found = false
      }
      if (found) waiter.resolve(true)
      else if (this.#waiters.has(waiter)) void this.#armWake(waiter)
    }, delay)
  }
}
