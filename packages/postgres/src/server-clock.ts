import type { Clock, Logger } from '@agent-comm/protocol'
import { silentLogger, systemClock } from '@agent-comm/protocol'
import type { SqlQueryable } from './client.js'

/** How often the offset to the server's clock is measured again (60 s): clocks drift slowly. */
const RESYNC_MS = 60_000

/**
 * Offsets smaller than this (250 ms) are taken as 0: they are within what a measurement under load can be
 * off by, and processes on one machine — or on machines kept in sync — must keep reading the very same
 * time, or a message one sends "now" would be due a few milliseconds later for another that polls at once.
 */
const IN_SYNC_MS = 250

/** Readings per measurement; the one with the shortest round trip is kept. */
const SAMPLES = 3

/**
 * The PostgreSQL server's time, read locally: `Date.now()` plus the offset to the server's clock, measured
 * when the store opens and again every minute (half the round trip is the error, a millisecond or so on a
 * network), or plain `Date.now()` while the two agree within 250 ms. Processes on several machines sharing one database then judge lease ends, delays and TTLs by
 * one clock — the server's — so a machine whose clock is off cannot take another's live lease. No query per
 * reading: a reading costs what `Date.now()` costs. A failed re-measure keeps the last offset.
 */
export class ServerClock implements Clock {
  readonly #db: SqlQueryable
  readonly #logger: Logger
  readonly #local: Clock
  #offset = 0
  #timer: NodeJS.Timeout | undefined

  private constructor(db: SqlQueryable, logger: Logger, local: Clock) {
    this.#db = db
    this.#logger = logger
    this.#local = local
  }

  /**
   * Measures the offset once (so the first reading is already the server's), then every `resyncMs`.
   * `local` is this machine's clock (the system clock; a `ManualClock` in tests).
   */
  static async start(
    db: SqlQueryable,
    options: { resyncMs?: number; logger?: Logger; local?: Clock } = {},
  ): Promise<ServerClock> {
    const clock = new ServerClock(db, options.logger ?? silentLogger, options.local ?? systemClock)
    await clock.sync()
    clock.#timer = setInterval(() => {
      clock.sync().catch((error: unknown) => {
        clock.#logger.debug(
          { error: String(error) },
          'measuring the PostgreSQL server clock failed; keeping the last offset',
        )
      })
    }, options.resyncMs ?? RESYNC_MS)
    clock.#timer.unref()
    return clock
  }

  now(): number {
    return this.#local.now() + this.#offset
  }

  /** The measured offset to the server's clock, in ms (positive: the server is ahead). */
  get offsetMs(): number {
    return this.#offset
  }

  /**
   * Measures the offset now: three readings, keeping the one with the shortest round trip (the least
   * uncertain). An offset within what that round trip leaves uncertain — half of it, plus 250 ms — is
   * taken as 0: under load a round trip can take a second, and two processes on one machine must not end up
   * with different offsets from noise (a reply one sends "now" would be due later for the other).
   */
  async sync(): Promise<void> {
    let best: { offset: number; roundTrip: number } | undefined
    for (let reading = 0; reading < SAMPLES; reading++) {
      const before = this.#local.now()
      const [row] = await this.#db.query<{ now: number }>(
        'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now',
      )
      const after = this.#local.now()
      if (row === undefined) return
      const roundTrip = after - before
      if (best === undefined || roundTrip < best.roundTrip) {
        best = { offset: Math.round(row.now - (before + after) / 2), roundTrip }
      }
    }
    if (best === undefined) return
    this.#offset = Math.abs(best.offset) <= IN_SYNC_MS + best.roundTrip / 2 ? 0 : best.offset
  }

  /** Stops re-measuring. */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}
