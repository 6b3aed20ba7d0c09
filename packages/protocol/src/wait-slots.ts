// How many requests each caller may hold open at once in one process, waiting: the relay's long polls and
// event streams per agent, the A2A endpoint's blocking task waits per caller. One counter for every such
// cap, free of zod (`@agent-comm/protocol/wait-slots`).

/**
 * Counts the requests each caller has waiting (a parked long poll, an open stream, a blocking task wait)
 * in this process: each holds a connection and a waiter until it ends, so a caller may hold at most `max`
 * at once. Per process, as the relay's rate limits: behind N replicas a caller may hold up to N × `max`.
 */
export class WaitSlots {
  readonly #max: number
  readonly #held = new Map<string, number>()

  /** `max` waits per caller; 0 for no limit. */
  constructor(max: number) {
    this.#max = max
  }

  /** The most waits one caller may hold (0: no limit). */
  get max(): number {
    return this.#max
  }

  /** How many slots `caller` holds now (every caller's together without one). */
  held(caller?: string): number {
    if (caller !== undefined) return this.#held.get(caller) ?? 0
    let total = 0
    for (const n of this.#held.values()) total += n
    return total
  }

  /**
   * Takes one of `caller`'s slots: the function that gives it back (calling it again does nothing), or
   * undefined when the caller already holds `max`.
   */
  acquire(caller: string): (() => void) | undefined {
    const held = this.#held.get(caller) ?? 0
    if (this.#max > 0 && held >= this.#max) return undefined
    this.#held.set(caller, held + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.#held.get(caller) ?? 1) - 1
      if (left <= 0) this.#held.delete(caller)
      else this.#held.set(caller, left)
    }
  }
}
