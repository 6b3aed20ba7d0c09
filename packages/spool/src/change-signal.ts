import type { SpoolStore } from './store.js'

/**
 * Wakes waiters at the next change of a spool's storage, whatever it is: a write of this process
 * ({@link fire}) or a hint from the store's change feed that another process committed. One feed for
 * all waiters, started while someone waits. A hint, not a diff: callers read again after it, and keep a
 * slow poll of their own for stores whose feed does not report every kind of write.
 */
export class ChangeSignal {
  readonly #store: Pick<SpoolStore, 'watch'>
  readonly #waiters = new Set<(changed: boolean) => void>()
  #stopFeed: (() => void) | undefined

  constructor(store: Pick<SpoolStore, 'watch'>) {
    this.#store = store
  }

  /** Resolves true at the next change, false after `timeoutMs` or on abort. */
  wait(timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const onAbort = (): void => finish(false)
      const finish = (changed: boolean): void => {
        if (!this.#waiters.delete(finish)) return
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        if (this.#waiters.size === 0) this.#stop()
        resolve(changed)
      }
      this.#waiters.add(finish)
      this.#stopFeed ??= this.#store.watch(() => this.fire())
      if (timeoutMs !== undefined) timer = setTimeout(() => finish(false), timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Wakes every waiter: something changed. */
  fire(): void {
    for (const finish of [...this.#waiters]) finish(true)
  }

  /** Resolves every pending wait with false and stops the feed. */
  close(): void {
    for (const finish of [...this.#waiters]) finish(false)
    this.#stop()
  }

  #stop(): void {
    this.#stopFeed?.()
    this.#stopFeed = undefined
  }
}
