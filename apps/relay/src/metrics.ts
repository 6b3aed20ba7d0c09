import { DELIVERY_STATUSES, type DeliveryStatus } from '@agent-comm/protocol'

/** Upper bounds of the latency histogram buckets, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

interface Histogram {
  method: string
  route: string
  counts: number[]
  sum: number
  count: number
}

/** What the spool reports at scrape time. */
export interface QueueFigures {
  deliveries: Record<DeliveryStatus, number>
  totalMessages: number
  oldestQueuedAgeMs: number | null
}

/**
 * The relay's Prometheus metrics, kept in plain maps and written in the text exposition format (0.0.4):
 * requests by route and status, latency histograms by route, authentication failures by reason, open
 * event streams, requests shed for overload, waits refused, and queue depth per delivery status read from the spool when scraped. Route labels are
 * route patterns (`/api/v1/agents/:agentId/claim`), never concrete paths, so their number stays bounded.
 */
export class RelayMetrics {
  readonly #requests = new Map<string, { method: string; route: string; status: number; count: number }>()
  readonly #latency = new Map<string, Histogram>()
  readonly #authFailures = new Map<string, number>()
  readonly #shed = new Map<string, number>()
  readonly #waitsRefused = new Map<string, number>()
  #openStreams = 0
  #parkedPolls = 0
  readonly #startedAt = Date.now()
  readonly #waitsHeld: () => number

  /** `waitsHeld`: the long polls and event streams agents hold open now (their wait slots). */
  constructor(sources: { waitsHeld?: () => number } = {}) {
    this.#waitsHeld = sources.waitsHeld ?? (() => 0)
  }

  /** Counts one finished request and its duration. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`
    const counter = this.#requests.get(key)
    if (counter === undefined) this.#requests.set(key, { method, route, status, count: 1 })
    else counter.count++
    const histKey = `${method} ${route}`
    let hist = this.#latency.get(histKey)
    if (hist === undefined) {
      hist = { method, route, counts: BUCKETS.map(() => 0), sum: 0, count: 0 }
      this.#latency.set(histKey, hist)
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) hist.counts[i]!++
    hist.sum += seconds
    hist.count++
  }

  /** Counts one refused authentication. */
  authFailure(reason: string): void {
    this.#authFailures.set(reason, (this.#authFailures.get(reason) ?? 0) + 1)
  }

  /** Counts one request shed for overload, by what was over its limit (`eventLoopDelay`, `heapUsedBytes`, …). */
  shed(reason: string): void {
    this.#shed.set(reason, (this.#shed.get(reason) ?? 0) + 1)
  }

  /** Counts one long poll or event stream refused because its agent already holds its most (`kind`: the route's). */
  waitRefused(kind: string): void {
    this.#waitsRefused.set(kind, (this.#waitsRefused.get(kind) ?? 0) + 1)
  }

  /** Tracks the long-poll claims waiting for a message. */
  longPollParked(): void {
    this.#parkedPolls++
  }

  longPollEnded(): void {
    this.#parkedPolls--
  }

  /** Tracks the number of open event streams. */
  streamOpened(): void {
    this.#openStreams++
  }

  streamClosed(): void {
    this.#openStreams--
  }

  /** The exposition text; `queue` is undefined when the database could not be read. */
  render(queue: QueueFigures | undefined): string {
    const out: string[] = []
    const family = (name: string, type: string, help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    }
    family(
      'agent_comm_relay_http_requests_total',
      'counter',
      'HTTP requests handled, by method, route and status.',
    )
    for (const r of this.#requests.values()) {
      out.push(
        `agent_comm_relay_http_requests_total${labels({ method: r.method, route: r.route, status: String(r.status) })} ${r.count}`,
      )
    }
    family(
      'agent_comm_relay_http_request_duration_seconds',
      'histogram',
      'Time to handle a request, by route.',
    )
    for (const h of this.#latency.values()) {
      const base = { method: h.method, route: h.route }
      BUCKETS.forEach((le, i) => {
        out.push(
          `agent_comm_relay_http_request_duration_seconds_bucket${labels({ ...base, le: String(le) })} ${h.counts[i]}`,
        )
      })
      out.push(
        `agent_comm_relay_http_request_duration_seconds_bucket${labels({ ...base, le: '+Inf' })} ${h.count}`,
      )
      out.push(`agent_comm_relay_http_request_duration_seconds_sum${labels(base)} ${h.sum}`)
      out.push(`agent_comm_relay_http_request_duration_seconds_count${labels(base)} ${h.count}`)
    }
    /** A counter by one label, from a map of label value to count. */
    const countedBy = (name: string, help: string, label: string, counts: Map<string, number>): void => {
      family(name, 'counter', help)
      for (const [value, count] of counts) out.push(`${name}${labels({ [label]: value })} ${count}`)
    }
    countedBy(
      'agent_comm_relay_auth_failures_total',
      'Requests refused by authentication, by reason.',
      'reason',
      this.#authFailures,
    )
    countedBy(
      'agent_comm_relay_shed_requests_total',
      'Requests refused with 503 because the relay was overloaded, by the limit exceeded.',
      'reason',
      this.#shed,
    )
    countedBy(
      'agent_comm_relay_waits_refused_total',
      'Long polls and event streams refused with 429 because their agent already held its most, by kind.',
      'kind',
      this.#waitsRefused,
    )
    family('agent_comm_relay_event_streams', 'gauge', 'Open server-sent event streams.')
    out.push(`agent_comm_relay_event_streams ${this.#openStreams}`)
    family('agent_comm_relay_long_polls', 'gauge', 'Long-poll claims waiting for a message.')
    out.push(`agent_comm_relay_long_polls ${this.#parkedPolls}`)
    family(
      'agent_comm_relay_waits_open',
      'gauge',
      "Long polls (claims, reply claims, waits) and event streams held open, each in one of its agent's --max-waits slots.",
    )
    out.push(`agent_comm_relay_waits_open ${this.#waitsHeld()}`)
    family('agent_comm_relay_up', 'gauge', '1 when the relay can read its database.')
    out.push(`agent_comm_relay_up ${queue === undefined ? 0 : 1}`)
    family('agent_comm_relay_uptime_seconds', 'gauge', 'Seconds since the relay started.')
    out.push(`agent_comm_relay_uptime_seconds ${(Date.now() - this.#startedAt) / 1000}`)
    if (queue !== undefined) {
      family('agent_comm_relay_deliveries', 'gauge', 'Deliveries in the spool, by status.')
      for (const status of DELIVERY_STATUSES) {
        out.push(`agent_comm_relay_deliveries${labels({ status })} ${queue.deliveries[status]}`)
      }
      family('agent_comm_relay_messages', 'gauge', 'Messages stored in the spool.')
      out.push(`agent_comm_relay_messages ${queue.totalMessages}`)
      family(
        'agent_comm_relay_oldest_queued_age_seconds',
        'gauge',
        'Age of the oldest claimable delivery (0 if none).',
      )
      out.push(`agent_comm_relay_oldest_queued_age_seconds ${(queue.oldestQueuedAgeMs ?? 0) / 1000}`)
    }
    return `${out.join('\n')}\n`
  }
}

function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(
    ([key, value]) =>
      `${key}="${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`,
  )
  return `{${parts.join(',')}}`
}
