import type { Spool } from '@agent-comm/spool'

/** What a woken wait's signal aborts with (no one reads it; see {@link ParkedPolls.wait}). */
const WOKEN = new Error('Woken: a message was queued here')

/**
 * The long polls and event streams parked on this relay, by agent, so that a send this relay stored wakes
 * them the moment its transaction returns: the poll claims at once, in the same turn of the event loop as
 * the send, rather than after the spool's change watcher has scheduled a check and asked the store, agent
 * by agent, whether each has something to claim (on PostgreSQL, after the notification's round trip too).
 * Sixteen consumers woken by sixteen sends are then all claiming while the sends are answered, instead of
 * one after another once every send is done.
 *
 * A hint, as the spool's own wake-ups are: a woken poll claims, and waits again when another consumer won.
 * The spool's wait stays armed beside it for everything this relay did not do itself — a send through
 * another replica, a delayed message coming due, a lease running out.
 */
export class ParkedPolls {
  readonly #spool: Pick<Spool, 'waitForMessages'>
  readonly #byAgent = new Map<string, Set<() => void>>()

  constructor(spool: Pick<Spool, 'waitForMessages'>) {
    this.#spool = spool
  }

  /**
   * Resolves true as soon as `agent` may have a claimable message — this relay queued one for it, or the
   * spool says so — and false on timeout or when `signal` aborts.
   */
  async wait(agent: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false
    // One controller stops the spool's wait, for a wake-up or for `signal`: cheaper than `AbortSignal.any`
    // per wait, and aborted with a reason rather than a fresh `DOMException` (a stack trace) per wake-up.
    const stop = new AbortController()
    let woken = false
    let parked = this.#byAgent.get(agent)
    if (parked === undefined) {
      parked = new Set()
      this.#byAgent.set(agent, parked)
    }
    const wake = (): void => {
      woken = true
      stop.abort(WOKEN)
    }
    const abandon = (): void => stop.abort(signal.reason)
    parked.add(wake)
    signal.addEventListener('abort', abandon, { once: true })
    try {
      const found = await this.#spool.waitForMessages(agent, { timeoutMs, signal: stop.signal })
      return found || (woken && !signal.aborted)
    } finally {
      signal.removeEventListener('abort', abandon)
      parked.delete(wake)
      if (parked.size === 0 && this.#byAgent.get(agent) === parked) this.#byAgent.delete(agent)
    }
  }

  /**
   * Wakes the polls and streams parked for each of `agents` (their messages were just queued here); how
   * many it woke.
   */
  wake(agents: Iterable<string>): number {
    if (this.#byAgent.size === 0) return 0
    let woken = 0
    for (const agent of agents) {
      const parked = this.#byAgent.get(agent)
      if (parked === undefined) continue
      const waking = [...parked]
      for (const wake of waking) wake()
      woken += waking.length
    }
    return woken
  }

  /**
   * Resolves once the polls woken in this turn have claimed and been answered: a send that woke some awaits
   * it before its own answer is written. The woken claims share one transaction, committed as soon as this
   * run of callbacks drains (the spool's group commit), and their answers follow in the same turn; writing
   * the senders' answers first (sixteen, when sixteen sends woke sixteen polls) would only delay the
   * answers that carry the messages. A send that woke nothing is answered at once.
   */
  afterWoken(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve))
  }

  /** How many polls and streams are parked (for tests and metrics). */
  get size(): number {
    let n = 0
    for (const parked of this.#byAgent.values()) n += parked.size
    return n
  }
}
