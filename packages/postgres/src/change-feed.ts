import type { Logger } from '@agent-comm/protocol'
import type { SqlClient } from './client.js'
import { toStorageError } from './drivers/driver-errors.js'

/** Delay before the next attempt to LISTEN after `failures` failed ones: 250 ms doubling up to 10 s. */
const retryDelayMs = (failures: number): number => Math.min(250 * 2 ** (failures - 1), 10_000)

/**
 * How long the LISTEN connection stays open after its last watcher left (30 s): a consumer's wait loop adds
 * a watcher for each wait, and reopening a connection and re-LISTENing for every one would cost a round trip
 * or more and leave a window without a listener. A process that keeps waiting keeps one connection.
 */
const DEFAULT_LINGER_MS = 30_000

/**
 * The store's side of `watch`: one LISTEN on the schema's channel, opened by the first watcher and closed
 * `lingerMs` after the last one left (or on `close`), shared by all of them. Every notification calls every watcher; so does every LISTEN that
 * takes effect — the first, one after the connection was lost (the client reports it), one after failed
 * attempts — since notifications sent before it were not heard and waiters must re-check. When LISTEN fails — PostgreSQL down at the time — it
 * is tried again with a backoff for as long as anyone watches; the spool's timers and safety poll cover
 * the gap.
 */
export class ChangeFeed {
  readonly #client: SqlClient
  readonly #channel: string
  readonly #location: string
  readonly #logger: Logger
  readonly #watchers = new Set<() => void>()
  /** Bumped by every stop: a LISTEN started before it is closed as soon as it answers. */
  #generation = 0
  #active = false
  #unlisten: (() => Promise<void>) | undefined
  #retry: NodeJS.Timeout | undefined
  #failures = 0
  #closed = false
  readonly #lingerMs: number
  /** Which notifications concern this feed's watchers (the channel also carries the registry's). */
  readonly #accept: (payload: string) => boolean
  #idle: NodeJS.Timeout | undefined

  constructor(
    client: SqlClient,
    channel: string,
    location: string,
    logger: Logger,
    options: { lingerMs?: number; accept?: (payload: string) => boolean } = {},
  ) {
    this.#client = client
    this.#channel = channel
    this.#location = location
    this.#logger = logger
    this.#lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS
    this.#accept = options.accept ?? (() => true)
  }

  /** Adds a watcher; returns the function that removes it. */
  add(onChange: () => void): () => void {
    if (this.#closed) return () => {}
    this.#watchers.add(onChange)
    clearTimeout(this.#idle)
    this.#idle = undefined
    if (!this.#active) {
      this.#active = true
      this.#listen(this.#generation)
    }
    return () => {
      if (!this.#watchers.delete(onChange) || this.#watchers.size > 0 || this.#closed) return
      clearTimeout(this.#idle)
      this.#idle = setTimeout(() => {
        this.#idle = undefined
        if (this.#watchers.size === 0) void this.#halt()
      }, this.#lingerMs)
      this.#idle.unref()
    }
  }

  /** Stops listening for good. */
  async close(): Promise<void> {
    this.#closed = true
    this.#watchers.clear()
    clearTimeout(this.#idle)
    this.#idle = undefined
    await this.#halt()
  }

  #listen(generation: number): void {
    this.#client
      .listen(
        this.#channel,
        (payload) => {
          if (this.#accept(payload)) this.#changed()
        },
        () => this.#changed(),
      )
      .then(
        (unlisten) => {
          if (generation !== this.#generation) {
            void unlisten().catch(() => undefined)
            return
          }
          this.#unlisten = unlisten
          if (this.#failures > 0) {
            this.#failures = 0
            this.#logger.info({ location: this.#location }, 'The change feed is listening again')
          }
          // Whatever committed before the LISTEN took effect was not heard (a driver may have queued the LISTEN
          // for as long as the server was down): one hint, possibly spurious, makes waiters re-check.
          this.#changed()
        },
        (error: unknown) => {
          if (generation !== this.#generation) return
          this.#failures++
          if (this.#failures === 1) {
            const { message, hint } = toStorageError(error, this.#location)
            this.#logger.warn(
              { location: this.#location, hint },
              `The change feed is not listening, retrying: ${message}`,
            )
          }
          this.#retry = setTimeout(() => {
            this.#retry = undefined
            if (generation === this.#generation) this.#listen(generation)
          }, retryDelayMs(this.#failures))
          this.#retry.unref()
        },
      )
  }

  async #halt(): Promise<void> {
    this.#generation++
    this.#active = false
    this.#failures = 0
    clearTimeout(this.#retry)
    this.#retry = undefined
    const unlisten = this.#unlisten
    this.#unlisten = undefined
    await unlisten?.().catch(() => undefined)
  }

  #changed(): void {
    for (const watcher of [...this.#watchers]) {
      try {
        watcher()
      } catch (error) {
        this.#logger.warn({ error: String(error) }, 'A change-feed watcher threw')
      }
    }
  }
}
