/** How one call of a coalesced group ended. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown }

/** Runs `work` and reports how it ended instead of throwing. */
export async function settle<T>(work: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work }
  } catch (error) {
    return { ok: false, error }
  }
}

/** One call waiting to share a request: what it asks and its caller's signal. */
export interface CoalescedCall<I> {
  input: I
  /** Used when the call ends up going alone; a shared request carries no caller's signal. */
  signal: AbortSignal | undefined
}

/** What a {@link Coalescer} needs. */
export interface CoalescerOptions<I, O> {
  /**
   * Carries out every call gathered under `key`, in one request where it can; returns one outcome per
   * call, in order. Throwing fails every call of the group with that error.
   */
  flush(key: string, calls: CoalescedCall<I>[]): Promise<Outcome<O>[]>
  /** Most total weight in one group (e.g. 100 for claims, by their `limit`); a fuller group goes at once. */
  maxWeight: number
  /** Weight of one call (1). */
  weight?(input: I): number
}

interface Waiting<I, O> extends CoalescedCall<I> {
  resolve(value: O): void
  reject(error: unknown): void
  settled: boolean
}

interface Group<I, O> {
  key: string
  items: Waiting<I, O>[]
  weight: number
}

/**
 * Gathers calls made during one turn of the event loop that can travel together (same key: the same agent
 * and options) and hands them to `flush` as one group at the end of the turn. A call made when nothing else
 * is pending waits no longer than that turn; concurrent callers — a consumer with several messages in
 * flight, a fan-out — share one round trip instead of paying one each. Each caller still gets its own
 * result or error, and an aborted call rejects at once without holding up the others.
 */
export class Coalescer<I, O> {
  readonly #options: CoalescerOptions<I, O>
  #groups = new Map<string, Group<I, O>>()
  #scheduled = false

  constructor(options: CoalescerOptions<I, O>) {
    this.#options = options
  }

  add(key: string, input: I, signal?: AbortSignal): Promise<O> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    const weight = this.#options.weight?.(input) ?? 1
    let group = this.#groups.get(key)
    if (group !== undefined && group.weight + weight > this.#options.maxWeight) {
      this.#groups.delete(key)
      void this.#send(group)
      group = undefined
    }
    if (group === undefined) {
      group = { key, items: [], weight: 0 }
      this.#groups.set(key, group)
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => this.#flushAll())
      }
    }
    group.weight += weight
    const target = group
    return new Promise<O>((resolve, reject) => {
      const waiting: Waiting<I, O> = { input, signal, resolve, reject, settled: false }
      target.items.push(waiting)
      if (signal === undefined) return
      const onAbort = (): void => {
        if (waiting.settled) return
        waiting.settled = true
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      const done = (): void => signal.removeEventListener('abort', onAbort)
      waiting.resolve = (value) => {
        done()
        resolve(value)
      }
      waiting.reject = (error) => {
        done()
        reject(error)
      }
    })
  }

  #flushAll(): void {
    this.#scheduled = false
    const groups = [...this.#groups.values()]
    this.#groups.clear()
    for (const group of groups) void this.#send(group)
  }

  async #send(group: Group<I, O>): Promise<void> {
    // A call aborted while it waited is left out: it never reaches the relay.
    const live = group.items.filter((item) => !item.settled)
    if (live.length === 0) return
    let outcomes: Outcome<O>[]
    try {
      outcomes = await this.#options.flush(
        group.key,
        live.map(({ input, signal }) => ({ input, signal })),
      )
    } catch (error) {
      outcomes = live.map(() => ({ ok: false, error }))
    }
    live.forEach((item, i) => {
      if (item.settled) return
      item.settled = true
      const outcome = outcomes[i] ?? { ok: false, error: new Error('No result for a coalesced call') }
      if (outcome.ok) item.resolve(outcome.value)
      else item.reject(outcome.error)
    })
  }
}
