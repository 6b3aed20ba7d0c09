import type { Coordinator } from '@agent-comm/coordinator'
import type { DeliveryInfo, Logger, MessageV2 } from '@agent-comm/protocol'

type Spool = Coordinator['spool']

/** A message waiting in an agent's inbox, with where its delivery stands. */
export interface InboxEntry {
  message: MessageV2
  delivery: DeliveryInfo
}

/**
 * The pending (queued or leased) messages of `agentId` in the local spool, in the order a claim hands them
 * out (most urgent first, then oldest), without claiming anything.
 */
export async function peekInbox(spool: Spool, agentId: string, limit = 50): Promise<InboxEntry[]> {
  return spool.pending(agentId, { limit })
}

interface Subscription {
  readonly agentId: string
  readonly abort: AbortController
  /** Ends the current slow re-check early (after a send from this server). */
  wake: (() => void) | undefined
}

/** Where {@link InboxSubscriptions} tells the client that an inbox changed. */
export type NotifyUpdated = (uri: string) => Promise<void>

/**
 * Watches the inboxes a client subscribed to and tells it (`notifications/resources/updated`) when a new
 * message arrives in one. One watch per subscribed URI, started on subscribe and stopped on unsubscribe or
 * close.
 *
 * A new arrival is seen as a change of the newest message addressed to the agent. While the inbox holds no
 * claimable message the watch sleeps in the spool's `waitForMessages`, which wakes on a commit from any
 * process without polling. Once claimable messages wait, that call would return at once, so the watch
 * re-checks on a slow timer instead (and at once after a send through this server).
 */
export class InboxSubscriptions {
  readonly #spool: Spool
  readonly #notify: NotifyUpdated
  readonly #logger: Logger
  readonly #intervalMs: number
  readonly #subscriptions = new Map<string, Subscription>()
  #closed = false

  constructor(spool: Spool, notify: NotifyUpdated, logger: Logger, intervalMs: number) {
    this.#spool = spool
    this.#notify = notify
    this.#logger = logger
    this.#intervalMs = intervalMs
  }

  /** The URIs being watched. */
  get uris(): string[] {
    return [...this.#subscriptions.keys()]
  }

  /** Starts watching `agentId`'s inbox for `uri`; subscribing twice is a no-op. */
  async subscribe(uri: string, agentId: string): Promise<void> {
    if (this.#closed || this.#subscriptions.has(uri)) return
    const subscription: Subscription = { agentId, abort: new AbortController(), wake: undefined }
    this.#subscriptions.set(uri, subscription)
    // The newest message now is the baseline: only messages after the subscription count as news.
    const baseline = await this.#newest(agentId)
    void this.#watch(uri, subscription, baseline)
  }

  /** Stops the watch of `uri`, if any. */
  unsubscribe(uri: string): void {
    const subscription = this.#subscriptions.get(uri)
    if (subscription === undefined) return
    this.#subscriptions.delete(uri)
    subscription.abort.abort()
  }

  /** Re-checks the watched inboxes now: called after this server sent a message. */
  poke(): void {
    for (const subscription of this.#subscriptions.values()) subscription.wake?.()
  }

  /** Stops every watch. */
  close(): void {
    this.#closed = true
    for (const uri of this.uris) this.unsubscribe(uri)
  }

  async #newest(agentId: string): Promise<string | undefined> {
    return (await this.#spool.search({ to: agentId, limit: 1 }))[0]?.id
  }

  async #watch(uri: string, subscription: Subscription, baseline: string | undefined): Promise<void> {
    const { agentId, abort } = subscription
    const signal = abort.signal
    let last = baseline
    try {
      while (!signal.aborted) {
        const claimable = await this.#spool.waitForMessages(agentId, { timeoutMs: 0 })
        if (claimable) await this.#sleep(subscription)
        else await this.#spool.waitForMessages(agentId, { signal })
        if (signal.aborted) break
        const newest = await this.#newest(agentId)
        if (newest !== undefined && newest !== last) {
          last = newest
          await this.#notify(uri)
        }
      }
    } catch (error) {
      // The spool was closed or the client went away: the watch ends, the server goes on.
      if (!signal.aborted) {
        this.#logger.warn(
          { uri, error: error instanceof Error ? error.message : String(error) },
          'inbox watch stopped',
        )
        this.unsubscribe(uri)
      }
    }
  }

  #sleep(subscription: Subscription): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        subscription.wake = undefined
        subscription.abort.signal.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, this.#intervalMs)
      timer.unref()
      subscription.wake = done
      subscription.abort.signal.addEventListener('abort', done, { once: true })
    })
  }
}
