/** The source of time for everything that leases, expires or timestamps. Inject a fake one in tests. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() }

/** A clock that only moves when told to: for tests and simulations. */
export class ManualClock implements Clock {
  #now: number

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'number' ? start : start.getTime()
  }

  now(): number {
    return this.#now
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('ManualClock can only move forward')
    this.#now += ms
  }

  /** Jumps to an absolute time. */
  set(at: number | Date): void {
    this.#now = typeof at === 'number' ? at : at.getTime()
  }
}

/**
 * Waits `ms` of real time, or until `signal` aborts, whichever comes first; never rejects. For the pause
 * between two polls, which a stop must cut short.
 */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}
