import { type FSWatcher, watch } from 'node:fs'
import { basename, dirname } from 'node:path'

/** What the watcher needs from the spool: cheap questions answered from the database. */
export interface WaitSource {
  /** True when `agent` has a delivery it could claim now. */
  hasClaimable(agent: string): boolean
  /** When the next delivery of `agent` becomes claimable (ms since epoch), or null if none is pending. */
  nextAvailableAt(agent: string): number | null
  /** A number that changes whenever another connection commits to the database. */
  dataVersion(): number
  now(): number
}

/** Delays of the re-checks after a file event (see `#scheduleFollowUps`). */
const FOLLOW_UP_DELAYS_MS = [1, 4, 15, 50]

interface Waiter {
  agent: string
  resolve: (found: boolean) => void
  timer: NodeJS.Timeout | undefined
  wake: NodeJS.Timeout | undefined
}

/**
 * Resolves waits for messages without busy-polling.
 *
 * Commits from this process call {@link notify}. Commits from other processes write the WAL file, which we
 * watch through the folder (inotify on Linux, so a checkpoint that truncates or recreates the file is
 * still seen); each event is confirmed with `PRAGMA data_version`, which changes only when another
 * connection committed. Delayed messages and expiring leases become claimable with no write at all, so
 * each waiter also sets a timer for its agent's next `available_at`. A slow safety tick covers platforms
 * whose file events are unreliable (network filesystems).
 */
export class ChangeWatcher {
  readonly #source: WaitSource
  readonly #path: string | null
  readonly #safetyIntervalMs: number
  readonly #waiters = new Set<Waiter>()
  #watcher: FSWatcher | undefined
  #safety: NodeJS.Timeout | undefined
  #lastVersion = -1
  #checkScheduled = false
  #followUp: NodeJS.Timeout | undefined
  #followUpsLeft = 0
  #closed = false

  constructor(source: WaitSource, path: string | null, safetyIntervalMs: number) {
    this.#source = source
    this.#path = path
    this.#safetyIntervalMs = safetyIntervalMs
  }

  /** Resolves true as soon as `agent` has a claimable message, false on timeout or abort. */
  wait(agent: string, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false)
    if (this.#source.hasClaimable(agent)) return Promise.resolve(true)
    if (timeoutMs === 0 || this.#closed) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { agent, resolve: () => {}, timer: undefined, wake: undefined }
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
      this.#armWake(waiter)
      // A commit may have landed between the first check and the watcher starting: look once more.
      this.#scheduleCheck(true)
    })
  }

  /** Called after this process committed something that may make messages claimable. */
  notify(): void {
    if (this.#waiters.size > 0) this.#scheduleCheck(true)
  }

  /** Resolves every pending wait with false and stops watching. */
  close(): void {
    this.#closed = true
    for (const waiter of [...this.#waiters]) waiter.resolve(false)
    this.#stop()
  }

  #start(): void {
    if (this.#safety !== undefined) return
    this.#lastVersion = this.#source.dataVersion()
    if (this.#path !== null) {
      const dir = dirname(this.#path)
      const base = basename(this.#path)
      try {
        this.#watcher = watch(dir, { persistent: false }, (_event, filename) => {
          if (filename === null || filename.startsWith(base)) {
            this.#scheduleCheck(false)
            this.#scheduleFollowUps()
          }
        })
        this.#watcher.on('error', () => this.#stopWatcher())
      } catch {
        // No file events here (e.g. the folder cannot be watched): the safety tick still finds messages.
        this.#watcher = undefined
      }
    }
    this.#safety = setInterval(() => this.#scheduleCheck(false), this.#safetyIntervalMs)
  }

  #stopWatcher(): void {
    this.#watcher?.close()
    this.#watcher = undefined
  }

  #stop(): void {
    this.#stopWatcher()
    clearTimeout(this.#followUp)
    this.#followUp = undefined
    clearInterval(this.#safety)
    this.#safety = undefined
  }

  #scheduleCheck(local: boolean): void {
    if (local) this.#lastVersion = -1
    if (this.#checkScheduled) return
    this.#checkScheduled = true
    setImmediate(() => {
      this.#checkScheduled = false
      this.#check()
    })
  }

  /**
   * A file event can arrive while the writer is still between writing its WAL frames and publishing the
   * commit, when `data_version` does not show it yet; nothing else would be written after it. So each event
   * is followed by a few re-checks over the next ~50 ms.
   */
  #scheduleFollowUps(): void {
    this.#followUpsLeft = FOLLOW_UP_DELAYS_MS.length
    if (this.#followUp !== undefined) return
    const next = (): void => {
      const index = FOLLOW_UP_DELAYS_MS.length - this.#followUpsLeft
      const delay = FOLLOW_UP_DELAYS_MS[index]
      if (delay === undefined || this.#waiters.size === 0) {
        this.#followUp = undefined
        return
      }
      this.#followUp = setTimeout(() => {
        this.#followUpsLeft--
        this.#check()
        next()
      }, delay)
    }
    next()
  }

  #check(): void {
    if (this.#waiters.size === 0) return
    let version: number
    try {
      version = this.#source.dataVersion()
    } catch {
      return
    }
    if (version === this.#lastVersion) return
    this.#lastVersion = version
    this.#checkAll()
  }

  #checkAll(): void {
    const answered = new Map<string, boolean>()
    for (const waiter of [...this.#waiters]) {
      let found = answered.get(waiter.agent)
      if (found === undefined) {
        try {
          found = this.#source.hasClaimable(waiter.agent)
        } catch {
          found = false
        }
        answered.set(waiter.agent, found)
      }
      if (found) waiter.resolve(true)
      else this.#armWake(waiter)
    }
  }

  /** Sets a timer for when the agent's next delayed message or expiring lease becomes claimable. */
  #armWake(waiter: Waiter): void {
    clearTimeout(waiter.wake)
    let at: number | null
    try {
      at = this.#source.nextAvailableAt(waiter.agent)
    } catch {
      return
    }
    if (at === null) return
    // Timers cap at ~24.8 days; the safety tick and later commits re-arm long waits.
    const delay = Math.min(Math.max(0, at - this.#source.now()) + 1, 2_000_000_000)
    waiter.wake = setTimeout(() => {
      if (this.#source.hasClaimable(waiter.agent)) waiter.resolve(true)
      else this.#armWake(waiter)
    }, delay)
  }
}
