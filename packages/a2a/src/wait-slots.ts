/**
 * Counts the requests each caller has waiting on a task (a blocking `SendMessage`, a stream), in this
 * process: each one holds a connection and reads the store about once a second until its task moves,
 * so a caller may hold at most `max` at once. Per process, as the relay's rate limits: behind N replicas
 * a caller may hold up to N × `max`.
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
