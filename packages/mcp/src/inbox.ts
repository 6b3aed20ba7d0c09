import type { Coordinator } from '@agent-comm/coordinator'
import type { DeliveryInfo, Logger, MessageV2 } from '@agent-comm/protocol'
import { errorMessage } from '@agent-comm/protocol'
import type { MailFeed } from './feed.js'

/** A message waiting in an agent's inbox, with where its delivery stands. */
export interface InboxEntry {
  message: MessageV2
  delivery: DeliveryInfo
}

/**
 * The pending (queued or leased) messages of `agentId` in the local spool, in the order a claim hands them
 * out (most urgent first, then oldest), without claiming anything.
 */
export async function peekInbox(
  coordinator: Coordinator,
  agentId: string,
  limit = 50,
): Promise<InboxEntry[]> {
  return coordinator.peek(agentId, { limit })
}

interface Subscription {
  readonly agentId: string
  last: string | undefined
  checking: boolean
  again: boolean
}

/** Where {@link InboxSubscriptions} tells the client that an inbox changed. */
export type NotifyUpdated = (uri: string) => Promise<void>

/**
 * Watches the inboxes a client subscribed to and tells it (`notifications/resources/updated`) when a new
 * message arrives in one, until unsubscribe or close.
 *
 * A new arrival is seen as a change of the newest message addressed to the agent, re-read whenever the
 * {@link MailFeed} wakes: the store's change feed (commits by any process), a send through this server,
 * or the feed's slow safety tick. An inbox that already holds mail is woken like an empty one.
 */
export class InboxSubscriptions {
  readonly #coordinator: () => Coordinator
  readonly #feed: MailFeed
  readonly #notify: NotifyUpdated
  readonly #logger: Logger
  readonly #subscriptions = new Map<string, Subscription>()
  #stopListening: (() => void) | undefined
  #closed = false

  constructor(coordinator: () => Coordinator, feed: MailFeed, notify: NotifyUpdated, logger: Logger) {
    this.#coordinator = coordinator
    this.#feed = feed
    this.#notify = notify
    this.#logger = logger
  }

  /** The URIs being watched. */
  get uris(): string[] {
    return [...this.#subscriptions.keys()]
  }

  /** Starts watching `agentId`'s inbox for `uri`; subscribing twice is a no-op. */
  async subscribe(uri: string, agentId: string): Promise<void> {
    if (this.#closed || this.#subscriptions.has(uri)) return
    const subscription: Subscription = { agentId, last: undefined, checking: true, again: false }
    this.#subscriptions.set(uri, subscription)
    // The newest message now is the baseline: only messages after the subscription count as news.
    subscription.last = await this.#newest(agentId)
    subscription.checking = false
    this.#stopListening ??= this.#feed.listen(() => this.#checkAll())
    if (subscription.again) void this.#check(uri, subscription)
  }

  /** Stops the watch of `uri`, if any. */
  unsubscribe(uri: string): void {
    if (!this.#subscriptions.delete(uri) || this.#subscriptions.size > 0) return
    this.#stopListening?.()
    this.#stopListening = undefined
  }

  /** Re-checks the watched inboxes now: called after this server sent a message. */
  poke(): void {
    this.#feed.notify()
  }

  /** Stops every watch. */
  close(): void {
    this.#closed = true
    for (const uri of this.uris) this.unsubscribe(uri)
  }

  async #newest(agentId: string): Promise<string | undefined> {
    return (await this.#coordinator().search({ to: agentId, limit: 1 }))[0]?.id
  }

  #checkAll(): void {
    for (const [uri, subscription] of this.#subscriptions) void this.#check(uri, subscription)
  }

  /** One check at a time per inbox; a wake during a check runs it once more afterwards. */
  async #check(uri: string, subscription: Subscription): Promise<void> {
    if (subscription.checking) {
      subscription.again = true
      return
    }
    subscription.checking = true
    try {
      do {
        subscription.again = false
        const newest = await this.#newest(subscription.agentId)
        if (this.#subscriptions.get(uri) !== subscription) return
        if (newest !== undefined && newest !== subscription.last) {
          subscription.last = newest
          await this.#notify(uri)
        }
      } while (subscription.again)
    } catch (error) {
      // The spool was closed or the client went away: the watch ends, the server goes on.
      this.#logger.warn({ uri, error: errorMessage(error) }, 'inbox watch stopped')
      this.unsubscribe(uri)
    } finally {
      subscription.checking = false
    }
  }
}
