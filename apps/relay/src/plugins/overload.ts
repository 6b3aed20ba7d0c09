import type { Clock } from '@agent-comm/protocol'
import { API_PREFIX, RelayErrorCode } from '@agent-comm/transport-http'
import underPressure from '@fastify/under-pressure'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { RelayMetrics } from '../metrics.js'

/** The thresholds past which the relay sheds requests; 0 turns one off. */
export interface OverloadLimits {
  /** Mean event-loop delay over a sample, in ms. */
  maxEventLoopDelayMs: number
  /** Event-loop utilization, 0-1. */
  maxEventLoopUtilization: number
  /** V8 heap used, in bytes. */
  maxHeapUsedBytes: number
  /** Resident memory, in bytes. */
  maxRssBytes: number
  /** What a shed request is told to wait, in seconds (`Retry-After`). */
  retryAfterSeconds: number
  /** How often the figures are measured, in ms (1000). */
  sampleIntervalMs: number
  /** How many samples in a row must be over a limit before requests are shed (2). */
  sustainedSamples: number
}

/**
 * Whether the relay is overloaded now: under-pressure's verdict, read once per sample, held over a limit
 * for `samples` readings in a row. One late sample is not overload: a garbage collection, a module loaded
 * on first use or a neighbour on the CPU delays a single second now and then, and shedding for it would
 * refuse a healthy relay's requests (and take it out of its load balancer) for nothing.
 */
export class SustainedPressure {
  readonly #samples: number
  #streak = 0

  constructor(samples: number) {
    this.#samples = samples
  }

  /** Records one reading: over a limit or not. */
  record(over: boolean): void {
    this.#streak = over ? this.#streak + 1 : 0
  }

  /** True once the last `samples` readings were all over a limit. */
  get sustained(): boolean {
    return this.#streak >= this.#samples
  }
}

/**
 * Routes still answered under pressure: the health endpoints say so themselves (503, `underPressure`), which
 * a load balancer needs to read, and the metrics are how the operator sees it.
 */
const ANSWERED_UNDER_PRESSURE = new Set([
  `${API_PREFIX}/health`,
  `${API_PREFIX}/health/ready`,
  `${API_PREFIX}/health/live`,
  '/metrics',
])

/** What each of under-pressure's measures is called in a shed request's message and in the flags. */
const MEASURES: Record<string, { what: string; flag: string }> = {
  eventLoopDelay: { what: 'its event loop is running late', flag: '--max-event-loop-delay' },
  eventLoopUtilization: { what: 'its event loop is busy', flag: '--max-event-loop-utilization' },
  heapUsedBytes: { what: 'its memory (heap) is nearly full', flag: '--max-heap-used' },
  rssBytes: { what: 'its memory (resident) is nearly full', flag: '--max-rss' },
}

/** How often at most a warning is logged while requests are being shed. */
const WARN_EVERY_MS = 10_000

/**
 * Load shedding with `@fastify/under-pressure`: while the event loop is late (or busy) or memory is past its
 * limit, for `sustainedSamples` samples in a row, every new request except health and metrics is answered 503 UNAVAILABLE with `Retry-After` and
 * `details.overloaded`, in its `onRequest` hook: before authentication, before the body is read, so a shed
 * request costs next to nothing and did nothing (a client may send it again, whatever it was). Requests
 * already in flight, long polls and streams included, go on. Registered before the routes.
 */
export const overloadPlugin = fp<{
  limits: OverloadLimits
  pressure: SustainedPressure
  metrics: RelayMetrics
  clock: Clock
}>(
  async (app, { limits, pressure, metrics, clock }) => {
    let warnedAt = Number.NEGATIVE_INFINITY
    await app.register(underPressure, {
      maxEventLoopDelay: limits.maxEventLoopDelayMs,
      maxEventLoopUtilization: limits.maxEventLoopUtilization,
      // Over the last sample, not since the process started, which would take ever longer to react.
      eventLoopUtilizationMode: 'interval',
      maxHeapUsedBytes: limits.maxHeapUsedBytes,
      maxRssBytes: limits.maxRssBytes,
      sampleInterval: limits.sampleIntervalMs,
      retryAfter: limits.retryAfterSeconds,
      // Returning without a reply lets the request through; one replied to here goes no further.
      pressureHandler: (request, reply, type, value) => {
        if (!pressure.sustained || ANSWERED_UNDER_PRESSURE.has(request.routeOptions.url ?? '')) return
        metrics.shed(type)
        const now = clock.now()
        if (now - warnedAt >= WARN_EVERY_MS) {
          warnedAt = now
          request.log.warn({ pressure: type, value, limits }, 'overloaded: shedding requests (503)')
        }
        shed(request, reply, type, limits.retryAfterSeconds)
      },
    })
    const reading = setInterval(() => pressure.record(app.isUnderPressure()), limits.sampleIntervalMs)
    reading.unref()
    app.addHook('onClose', async () => clearInterval(reading))
  },
  { name: 'agent-comm-overload' },
)

/**
 * Answers a shed request 503 with `Retry-After`: the relay's usual error body, never under-pressure's own; a
 * browser loading a page (see {@link isPageLoad}) gets a small HTML page that loads itself again instead.
 */
function shed(request: FastifyRequest, reply: FastifyReply, type: string, retryAfterSeconds: number): void {
  const measure = MEASURES[type] ?? { what: `${type} is over its limit`, flag: 'its overload limits' }
  reply.code(503).header('retry-after', String(retryAfterSeconds))
  if (isPageLoad(request)) {
    reply.header('cache-control', 'no-store').type('text/html; charset=utf-8')
    reply.send(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta http-equiv="refresh" content="${retryAfterSeconds}"><title>agent-comm: relay overloaded</title></head>
<body><main><h1>The relay is overloaded</h1><p>It did not handle this request (${measure.what}). This page loads again in ${retryAfterSeconds} s.</p></main></body>
</html>
`)
    return
  }
  reply.send({
    error: {
      code: RelayErrorCode.UNAVAILABLE,
      message: `The relay is overloaded (${measure.what}) and did not handle this request`,
      hint: `Retry after ${retryAfterSeconds} s: nothing was done, so the request may be sent again as it is. If it lasts, the operator adds replicas or raises the relay's ${measure.flag}.`,
      details: { overloaded: true, pressure: type, retryAfterSeconds },
    },
  })
}

/**
 * A browser loading a page (the console's): a GET outside the JSON API that accepts HTML. A person who opens
 * the console while the relay sheds would otherwise see the API's error document and have to think of
 * reloading; the page says what happened and loads itself again after `Retry-After`.
 */
function isPageLoad(request: FastifyRequest): boolean {
  return (
    request.method === 'GET' &&
    !request.url.startsWith(`${API_PREFIX}/`) &&
    (request.headers.accept ?? '').includes('text/html')
  )
}
