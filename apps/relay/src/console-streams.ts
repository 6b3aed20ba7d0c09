import { WaitSlots } from '@agent-comm/protocol/wait-slots'
import { RelayErrorCode } from '@agent-comm/transport-http'
import { RELAY_DEFAULTS } from './defaults.js'
import { HttpProblem } from './http-errors.js'

/** The one key of the process-wide count (a {@link WaitSlots} of one caller). */
const EVERY_SESSION = '*'

/** Seconds a refused page waits before it asks again: a stream ends when its tab closes, not on a timer. */
const STREAM_RETRY_AFTER_SECONDS = 5

/**
 * The console's event streams open in this process: at most `perSession` for one signed-in session (or
 * one agent signing its requests), at most `total` for all of them together. Each stream holds a socket
 * and re-reads its person's lists on every change of the spool, so without a cap one session (a looping
 * script, a stolen cookie) could tie up the relay. Counted with the relay's {@link WaitSlots}.
 */
export class ConsoleStreams {
  readonly #perSession: WaitSlots
  readonly #total: WaitSlots

  /** 0 for no limit; the defaults are {@link RELAY_DEFAULTS}' `consoleStreamsPerSession` / `consoleStreams`. */
  constructor(limits: { perSession?: number; total?: number } = {}) {
    this.#perSession = new WaitSlots(limits.perSession ?? RELAY_DEFAULTS.consoleStreamsPerSession)
    this.#total = new WaitSlots(limits.total ?? RELAY_DEFAULTS.consoleStreams)
  }

  /** How many streams are open: `session`'s, or every session's together without it. */
  open(session?: string): number {
    return session === undefined ? this.#total.held(EVERY_SESSION) : this.#perSession.held(session)
  }

  /**
   * Takes a stream's slots for `session` before the stream opens: the function that gives them back (call
   * it on every way out; calling it twice does nothing), or 429 TOO_MANY_WAITS with Retry-After when the
   * session, or the process, already holds the most.
   */
  hold(session: string): () => void {
    const own = this.#perSession.acquire(session)
    if (own === undefined) {
      throw refused(
        `This console session already has ${this.#perSession.max} event streams open on this relay`,
        'Close console tabs you no longer use; each open page holds one stream.',
        { limit: this.#perSession.max, scope: 'session' },
      )
    }
    const shared = this.#total.acquire(EVERY_SESSION)
    if (shared === undefined) {
      own()
      throw refused(
        `This relay already has ${this.#total.max} console event streams open`,
        'The page reconnects by itself; ask the operator to raise console.maxStreams if this lasts.',
        { limit: this.#total.max, scope: 'relay' },
      )
    }
    return () => {
      shared()
      own()
    }
  }
}

function refused(message: string, hint: string, details: { limit: number; scope: string }): HttpProblem {
  return new HttpProblem(429, RelayErrorCode.TOO_MANY_WAITS, message, {
    hint: `Retry after ${STREAM_RETRY_AFTER_SECONDS} s. ${hint}`,
    headers: { 'retry-after': String(STREAM_RETRY_AFTER_SECONDS) },
    details: { ...details, kind: 'consoleStream' },
  })
}
