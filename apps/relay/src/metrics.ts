import { DELIVERY_STATUSES, type DeliveryStatus } from '@agent-comm/protocol'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** Upper bounds of the latency histogram buckets, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Presence states of registered agents, as the registry reports them. */
const PRESENCE = ['active', 'inactive', 'offline'] as const

/** What the spool and the registry report at scrape time. */
export interface QueueFigures {
  deliveries: Record<DeliveryStatus, number>
  totalMessages: number
  oldestQueuedAgeMs: number | null
  oldestLeaseAgeMs: number | null
  /** Registered agents by presence. */
  agents: Record<(typeof PRESENCE)[number], number>
}

let processRegistry: Registry | undefined

/**
 * The process's metrics, collected once per process however many relays it runs: they describe the
 * process, and prom-client's event-loop monitor, once enabled, runs for the process's lifetime.
 */
function processMetricsRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/**
 * The relay's Prometheus metrics (prom-client, each relay its own registry): requests by route and status,
 * latency histograms by route, authentication failures by reason, open event streams, parked long polls,
 * waits open and refused (`--max-waits`), requests shed for overload,
 * and, read from the spool and the registry when scraped, queue depth per delivery status, queue ages and
 * registered agents by presence; then the process's own (CPU, memory, heap, event-loop lag, GC, handles: the
 * standard `process_*` and `nodejs_*` families). Route labels are route patterns (`/api/v1/agents/:agentId/claim`), never
 * concrete paths, and no label names an agent, so their number stays bounded and `/metrics` reveals no
 * agent to whoever can reach it.
 */
export class RelayMetrics {
  /** What is always there: the relay's own activity. */
  readonly #registry = new Registry()
  /** What the database says (the queue, the agents), exposed only when it could be read (never a stale or zero figure). */
  readonly #queueRegistry = new Registry()
  readonly #process = processMetricsRegistry()
  readonly #requests: Counter<'method' | 'route' | 'status'>
  readonly #latency: Histogram<'method' | 'route'>
  readonly #authFailures: Counter<'reason'>
  readonly #shed: Counter<'reason'>
  readonly #waitsRefused: Counter<'kind'>
  readonly #openStreams: Gauge
  readonly #parkedPolls: Gauge
  readonly #up: Gauge
  readonly #deliveries: Gauge<'status'>
  readonly #messages: Gauge
  readonly #oldestQueued: Gauge
  readonly #oldestLease: Gauge
  readonly #agents: Gauge<'status'>
  readonly #startedAt = Date.now()

  /** `waitsHeld`: the long polls and event streams agents hold open now (their wait slots). */
  constructor(sources: { waitsHeld?: () => number } = {}) {
    const registers = [this.#registry]
    const queue = [this.#queueRegistry]
    this.#requests = new Counter({
      name: 'agent_comm_relay_http_requests_total',
      help: 'HTTP requests handled, by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    })
    this.#latency = new Histogram({
      name: 'agent_comm_relay_http_request_duration_seconds',
      help: 'Time to handle a request, by route.',
      labelNames: ['method', 'route'],
      buckets: BUCKETS,
      registers,
    })
    this.#authFailures = new Counter({
      name: 'agent_comm_relay_auth_failures_total',
      help: 'Requests refused by authentication, by reason.',
      labelNames: ['reason'],
      registers,
    })
    this.#shed = new Counter({
      name: 'agent_comm_relay_shed_requests_total',
      help: 'Requests refused with 503 because the relay was overloaded, by the limit exceeded.',
      labelNames: ['reason'],
      registers,
    })
    this.#waitsRefused = new Counter({
      name: 'agent_comm_relay_waits_refused_total',
      help: 'Long polls and event streams refused with 429 because their agent already held its most, by kind.',
      labelNames: ['kind'],
      registers,
    })
    const waitsHeld = sources.waitsHeld ?? (() => 0)
    new Gauge({
      name: 'agent_comm_relay_waits_open',
      help: "Long polls (claims, reply claims, waits) and event streams held open, each in one of its agent's --max-waits slots.",
      registers,
      collect() {
        this.set(waitsHeld())
      },
    })
    this.#openStreams = new Gauge({
      name: 'agent_comm_relay_event_streams',
      help: 'Open server-sent event streams.',
      registers,
    })
    this.#parkedPolls = new Gauge({
      name: 'agent_comm_relay_long_polls',
      help: 'Long-poll claims waiting for a message.',
      registers,
    })
    this.#up = new Gauge({
      name: 'agent_comm_relay_up',
      help: '1 when the relay can read its database.',
      registers,
    })
    const startedAt = this.#startedAt
    new Gauge({
      name: 'agent_comm_relay_uptime_seconds',
      help: 'Seconds since the relay started.',
      registers,
      collect() {
        this.set((Date.now() - startedAt) / 1000)
      },
    })
    this.#deliveries = new Gauge({
      name: 'agent_comm_relay_deliveries',
      help: 'Deliveries in the spool, by status.',
      labelNames: ['status'],
      registers: queue,
    })
    this.#messages = new Gauge({
      name: 'agent_comm_relay_messages',
      help: 'Messages stored in the spool.',
      registers: queue,
    })
    this.#oldestQueued = new Gauge({
      name: 'agent_comm_relay_oldest_queued_age_seconds',
      help: 'Age of the oldest claimable delivery (0 if none).',
      registers: queue,
    })
    this.#oldestLease = new Gauge({
      name: 'agent_comm_relay_oldest_lease_age_seconds',
      help: 'Age of the oldest live lease (0 if none): a consumer stuck on a message shows here.',
      registers: queue,
    })
    this.#agents = new Gauge({
      name: 'agent_comm_relay_agents',
      help: 'Registered agents, by presence (active, inactive, offline).',
      labelNames: ['status'],
      registers: queue,
    })
  }

  /** Counts one finished request and its duration. */
  observe(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) })
    this.#latency.observe({ method, route }, seconds)
  }

  /** Counts one refused authentication. */
  authFailure(reason: string): void {
    this.#authFailures.inc({ reason })
  }

  /** Counts one request shed for overload, by what was over its limit (`eventLoopDelay`, `heapUsedBytes`, …). */
  shed(reason: string): void {
    this.#shed.inc({ reason })
  }

  /** Counts one long poll or event stream refused because its agent already holds its most (`kind`: the route's). */
  waitRefused(kind: string): void {
    this.#waitsRefused.inc({ kind })
  }

  /** Tracks the long-poll claims waiting for a message. */
  longPollParked(): void {
    this.#parkedPolls.inc()
  }

  longPollEnded(): void {
    this.#parkedPolls.dec()
  }

  /** Tracks the number of open event streams. */
  streamOpened(): void {
    this.#openStreams.inc()
  }

  streamClosed(): void {
    this.#openStreams.dec()
  }

  /** The exposition text; `queue` is undefined when the database could not be read. */
  async render(queue: QueueFigures | undefined): Promise<string> {
    this.#up.set(queue === undefined ? 0 : 1)
    const parts = [await this.#registry.metrics()]
    if (queue !== undefined) {
      for (const status of DELIVERY_STATUSES) this.#deliveries.set({ status }, queue.deliveries[status])
      this.#messages.set(queue.totalMessages)
      this.#oldestQueued.set((queue.oldestQueuedAgeMs ?? 0) / 1000)
      this.#oldestLease.set((queue.oldestLeaseAgeMs ?? 0) / 1000)
      for (const status of PRESENCE) this.#agents.set({ status }, queue.agents[status])
      parts.push(await this.#queueRegistry.metrics())
    }
    parts.push(await this.#process.metrics())
    return `${parts.map((part) => part.trimEnd()).join('\n')}\n`
  }
}
