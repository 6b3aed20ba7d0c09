// One change feed per spool, shared by every session of a server: the store's cross-process hints
// (`Coordinator.watch`), sends made through this server, and a slow safety tick for stores whose hints
// can be missed. Listeners are called after any of them, coalesced: they re-read what they care about.
import type { Coordinator } from '@agent-comm/coordinator'

/** What a feed watches: a coordinator, or anything with its `watch`. */
export type ChangeSource = Pick<Coordinator, 'watch'>

/** Safety re-check when the store's hints are missed (a network filesystem), in ms. */
export const FEED_SAFETY_INTERVAL_MS = 15_000

/**
 * Wakes listeners when the spool may have changed. Starts the store's feed with the first listener and
 * stops it with the last, so an idle server watches nothing.
 */
export class MailFeed {
  readonly #source: () => ChangeSource
  readonly #safetyIntervalMs: number
  readonly #listeners = new Set<() => void>()
  #stopWatch: (() => void) | undefined
  #safety: NodeJS.Timeout | undefined
  #scheduled = false

  /** `source` may be a function returning it, for a server whose database opens after start-up. */
  constructor(source: ChangeSource | (() => ChangeSource), safetyIntervalMs = FEED_SAFETY_INTERVAL_MS) {
    this.#source = typeof source === 'function' ? source : () => source
    this.#safetyIntervalMs = safetyIntervalMs
  }

  /** Calls `listener` after every change hint until the returned function is called. */
  listen(listener: () => void): () => void {
    this.#listeners.add(listener)
    if (this.#listeners.size === 1) {
      this.#stopWatch = this.#source().watch(() => this.notify())
      this.#safety = setInterval(() => this.notify(), this.#safetyIntervalMs)
      this.#safety.unref()
    }
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return
      this.#stopWatch?.()
      this.#stopWatch = undefined
      clearInterval(this.#safety)
    }
  }

  /** Something was committed (by this server, or a hint from the store): wake the listeners once. */
  notify(): void {
    if (this.#scheduled || this.#listeners.size === 0) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      for (const listener of [...this.#listeners]) listener()
    })
  }
}
