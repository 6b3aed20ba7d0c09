// Claude Code channel: new mail for the session's agent pushed into the conversation as
// `notifications/claude/channel` (capability `experimental["claude/channel"]`), since Claude Code ignores
// resource-update notifications. Short lines only (sender, subject, priority, id), never bodies; a burst
// is one notification with a count, at most one per interval, and a message is announced once.
import type { Coordinator } from '@agent-comm/coordinator'
import { type Clock, errorMessage, type Logger, type MessageV2, systemClock } from '@agent-comm/protocol'
import { safeLine } from '@agent-comm/protocol/terminal-text'
import type { MailFeed } from './feed.js'

/** The notification method Claude Code listens to. */
export const CHANNEL_METHOD = 'notifications/claude/channel'
/** The capability key a channel server declares under `experimental`. */
export const CHANNEL_CAPABILITY = 'claude/channel'

/** Least time between two announcements, in ms: a burst within it becomes one notification. */
export const DEFAULT_CHANNEL_INTERVAL_MS = 2000

/** How many message ids the announcer remembers (older ones have long been claimed or expired). */
const REMEMBERED = 10_000
/** Waiting deliveries read per check. */
const SCAN_LIMIT = 200

/** What a channel notification carries: one content line and string attributes. */
export interface ChannelEvent {
  content: string
  meta: Record<string, string>
}

/** Runs `run` once after `ms` (unref'd); returns the function that cancels it. */
export type ScheduleTimer = (run: () => void, ms: number) => () => void

const realTimer: ScheduleTimer = (run, ms) => {
  const timer = setTimeout(run, ms)
  timer.unref()
  return () => clearTimeout(timer)
}

/** What {@link ChannelAnnouncer} needs. */
export interface ChannelOptions {
  coordinator: Coordinator
  feed: MailFeed
  agent: string
  send: (event: ChannelEvent) => Promise<void>
  logger: Logger
  /** Least time between announcements (default 2 000 ms). */
  intervalMs?: number
  /** The interval is measured on this clock (default: the system clock). */
  clock?: Clock
  /** How a deferred announcement waits out the interval (default: an unref'd `setTimeout`). */
  setTimer?: ScheduleTimer
}

const RANK: Record<string, number> = { critical: 0, high: 1, normal: 2, low: 3 }

/** `text` on one line, at most `max` characters before escaping; control characters shown escaped. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return safeLine(flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`)
}

/** The announcement of `messages` (newest mail for `agent`, not yet announced). */
export function channelEvent(agent: string, messages: MessageV2[]): ChannelEvent {
  const sorted = [...messages].sort(
    (a, b) => (RANK[a.priority] ?? 2) - (RANK[b.priority] ?? 2) || a.timestamp.localeCompare(b.timestamp),
  )
  const first = sorted[0]!
  const line = (m: MessageV2): string =>
    `${m.priority} from ${m.fromAgent}: "${oneLine(m.subject === '' ? m.body : m.subject, 80)}" (${m.id})`
  const content =
    sorted.length === 1
      ? `New agent-comm message for ${agent}: ${line(first)}. Claim it with comm_poll, then comm_ack.`
      : `${sorted.length} new agent-comm messages for ${agent}; most urgent: ${line(first)}. Claim them with comm_poll, then comm_ack each.`
  const senders = [...new Set(sorted.map((m) => m.fromAgent))]
  return {
    content,
    meta: {
      agent,
      count: String(sorted.length),
      message_id: first.id,
      from: senders.slice(0, 10).join(','),
      priority: first.priority,
    },
  }
}

/**
 * Announces new mail for one agent while a session lasts. Mail already waiting when it starts is not
 * announced (the session's first comm_start_session or hook shows it).
 */
export class ChannelAnnouncer {
  readonly #options: ChannelOptions
  readonly #intervalMs: number
  readonly #clock: Clock
  readonly #setTimer: ScheduleTimer
  readonly #announced = new Set<string>()
  #stop: (() => void) | undefined
  #cancelTimer: (() => void) | undefined
  #lastSentAt = Number.NEGATIVE_INFINITY
  #checking = false
  #again = false
  #closed = false

  constructor(options: ChannelOptions) {
    this.#options = options
    this.#intervalMs = options.intervalMs ?? DEFAULT_CHANNEL_INTERVAL_MS
    this.#clock = options.clock ?? systemClock
    this.#setTimer = options.setTimer ?? realTimer
  }

  /** Takes what waits now as already known, then listens to the feed. */
  async start(): Promise<void> {
    for (const id of await this.#waitingIds()) this.#remember(id)
    if (this.#closed) return
    this.#stop = this.#options.feed.listen(() => this.#schedule())
  }

  close(): void {
    this.#closed = true
    this.#stop?.()
    this.#cancelTimer?.()
  }

  async #waitingIds(): Promise<string[]> {
    const pending = await this.#options.coordinator.peek(this.#options.agent, { limit: SCAN_LIMIT })
    return pending.filter((p) => p.delivery.status === 'queued').map((p) => p.message.id)
  }

  #remember(id: string): void {
    this.#announced.add(id)
    if (this.#announced.size > REMEMBERED) {
      const oldest = this.#announced.values().next().value
      if (oldest !== undefined) this.#announced.delete(oldest)
    }
  }

  /** A wake: announce now, or when the interval since the last announcement has passed. */
  #schedule(): void {
    if (this.#closed || this.#cancelTimer !== undefined) return
    const wait = Math.max(0, this.#lastSentAt + this.#intervalMs - this.#clock.now())
    if (wait === 0) {
      void this.#check()
      return
    }
    this.#cancelTimer = this.#setTimer(() => {
      this.#cancelTimer = undefined
      void this.#check()
    }, wait)
  }

  async #check(): Promise<void> {
    if (this.#checking) {
      this.#again = true
      return
    }
    this.#checking = true
    try {
      const pending = await this.#options.coordinator.peek(this.#options.agent, {
        limit: SCAN_LIMIT,
      })
      const fresh = pending
        .filter((p) => p.delivery.status === 'queued' && !this.#announced.has(p.message.id))
        .map((p) => p.message)
      if (fresh.length === 0 || this.#closed) return
      for (const m of fresh) this.#remember(m.id)
      this.#lastSentAt = this.#clock.now()
      await this.#options.send(channelEvent(this.#options.agent, fresh))
    } catch (error) {
      this.#options.logger.warn(
        { agent: this.#options.agent, error: errorMessage(error) },
        'channel announcement failed',
      )
    } finally {
      this.#checking = false
      if (this.#again) {
        this.#again = false
        this.#schedule()
      }
    }
  }
}
