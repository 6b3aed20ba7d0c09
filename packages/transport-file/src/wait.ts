import { type FSWatcher, mkdirSync, watch } from 'node:fs'

/** What the watcher asks the transport: cheap questions answered from the agent's folders. */
export interface WaitSource {
  /** The folder whose changes may mean a new message for `agent` (its inbox). */
  inboxFolder(agent: string): string
  /** True when `agent` has a delivery it could claim now. */
  hasClaimable(agent: string): boolean
  /** When the next pending delivery of `agent` becomes claimable (ms since epoch), or null. */
  nextVisibleAt(agent: string): number | null
  now(): number
}

/** The waits of one agent, sharing one folder watch and one wake-up timer. */
interface AgentWaits {
  finishers: Set<(found: boolean) => void>
  watcher: FSWatcher | undefined
  wake: NodeJS.Timeout | undefined
  checkScheduled: boolean
}

// Node timers cap at ~24.8 days; a longer wait is re-armed by the safety tick.
const MAX_TIMER_MS = 2_000_000_000

/**
 * Resolves waits for messages without polling every few ms. A message sent or nacked by this process calls
 * {@link notify}; one from another process lands in the agent's inbox folder, which is watched (inotify on
 * Linux, FSEvents on macOS). A delayed message or a lease that runs out becomes claimable with no file
 * event at all, so each agent also gets a timer for its next visible delivery. A slow safety tick covers
 * filesystems whose events are unreliable (network shares).
 */
export class InboxWatcher {
  readonly #source: WaitSource
  readonly #safetyIntervalMs: number
  readonly #agents = new Map<string, AgentWaits>()
  #safety: NodeJS.Timeout | undefined
  #closed = false

  constructor(source: WaitSource, safetyIntervalMs: number) {
    this.#source = source
    this.#safetyIntervalMs = safetyIntervalMs
  }

  /** Resolves true as soon as `agent` has a claimable message, false on timeout, abort or close. */
  wait(agent: string, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false)
    if (this.#source.hasClaimable(agent)) return Promise.resolve(true)
    if (timeoutMs === 0 || this.#closed) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      const waits = this.#watch(agent)
      let timer: NodeJS.Timeout | undefined
      const onAbort = (): void => finish(false)
      const finish = (found: boolean): void => {
        if (!waits.finishers.delete(finish)) return
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        if (waits.finishers.size === 0) this.#unwatch(agent)
        resolve(found)
      }
      waits.finishers.add(finish)
      if (timeoutMs !== undefined) timer = setTimeout(() => finish(false), timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      // A message may have landed between the first check and the watch starting: look once more.
      this.#scheduleCheck(agent)
    })
  }

  /** Called after this process made a message of `agent` claimable (a send or a nack). */
  notify(agent: string): void {
    if (this.#agents.has(agent)) this.#scheduleCheck(agent)
  }

  /** Resolves every pending wait with false and stops watching. */
  close(): void {
    this.#closed = true
    for (const waits of [...this.#agents.values()]) {
      for (const finish of [...waits.finishers]) finish(false)
    }
  }

  #watch(agent: string): AgentWaits {
    let waits = this.#agents.get(agent)
    if (waits !== undefined) return waits
    waits = { finishers: new Set(), watcher: undefined, wake: undefined, checkScheduled: false }
    this.#agents.set(agent, waits)
    const folder = this.#source.inboxFolder(agent)
    try {
      mkdirSync(folder, { recursive: true })
      waits.watcher = watch(folder, { persistent: false }, () => this.#scheduleCheck(agent))
      waits.watcher.on('error', () => {
        // The folder went away or cannot be watched any more: the wake timer and safety tick still work.
        waits.watcher?.close()
        waits.watcher = undefined
      })
    } catch {
      // No file events on this filesystem: the wake timer and the safety tick still find messages.
      waits.watcher = undefined
    }
    this.#safety ??= setInterval(() => {
      for (const name of this.#agents.keys()) this.#scheduleCheck(name)
    }, this.#safetyIntervalMs)
    return waits
  }

  #unwatch(agent: string): void {
    const waits = this.#agents.get(agent)
    if (waits === undefined) return
    this.#agents.delete(agent)
    waits.watcher?.close()
    clearTimeout(waits.wake)
    if (this.#agents.size === 0) {
      clearInterval(this.#safety)
      this.#safety = undefined
    }
  }

  /** Coalesces bursts of events (a send writes a temp file, then links it) into one look at the folders. */
  #scheduleCheck(agent: string): void {
    const waits = this.#agents.get(agent)
    if (waits === undefined || waits.checkScheduled) return
    waits.checkScheduled = true
    setImmediate(() => {
      waits.checkScheduled = false
      this.#check(agent, waits)
    })
  }

  #check(agent: string, waits: AgentWaits): void {
    if (this.#agents.get(agent) !== waits) return
    let found: boolean
    try {
      found = this.#source.hasClaimable(agent)
    } catch {
      // The folders could not be read (e.g. no permission). Wake the caller: its claim reports the error.
      found = true
    }
    if (found) {
      for (const finish of [...waits.finishers]) finish(true)
      return
    }
    this.#armWake(agent, waits)
  }

  /** Sets the agent's timer for when its next delayed message or running-out lease becomes claimable. */
  #armWake(agent: string, waits: AgentWaits): void {
    clearTimeout(waits.wake)
    waits.wake = undefined
    let at: number | null
    try {
      at = this.#source.nextVisibleAt(agent)
    } catch {
      at = null
    }
    if (at === null) return
    const delay = Math.min(Math.max(0, at - this.#source.now()) + 1, MAX_TIMER_MS)
    waits.wake = setTimeout(() => this.#scheduleCheck(agent), delay)
  }
}
