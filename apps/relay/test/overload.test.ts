import { RelayClient, RelayError } from '@agent-comm/transport-http'
import { describe, expect, it, vi } from 'vitest'
import { SustainedPressure } from '../src/plugins/overload.js'
import { errorOf, onCleanup, startTestRelay, type TestRelay } from './helpers.js'

/** Resolves once the relay says it is shedding (its readiness is 503 with `underPressure`). */
async function untilShedding(relay: TestRelay): Promise<void> {
  await vi.waitFor(
    async () => {
      const ready = await relay.app.inject({ method: 'GET', url: '/api/v1/health/ready' })
      expect(ready.json()).toMatchObject({ underPressure: true })
    },
    { timeout: 60_000, interval: 10 },
  )
}

/**
 * A relay whose heap limit of one byte is always exceeded: under pressure from its first sample on (taken
 * every 10 ms), whatever the machine is doing. The test waits for that sample, never for an amount of time.
 * The event-loop delay is not looked at: a 10 ms sample may hold no delay reading at all, which
 * under-pressure takes for an endless delay.
 */
async function overloadedRelay(listen = false) {
  const relay = await startTestRelay({
    listen,
    options: { overload: { maxHeapUsedBytes: 1, maxEventLoopDelayMs: 0, sampleIntervalMs: 10 } },
  })
  await untilShedding(relay)
  return relay
}

describe('load shedding', () => {
  it('sheds only once a limit was exceeded in as many samples in a row as it asks, and stops at once', () => {
    const pressure = new SustainedPressure(2)
    pressure.record(true)
    expect(pressure.sustained).toBe(false)
    pressure.record(false)
    pressure.record(true)
    expect(pressure.sustained).toBe(false)
    pressure.record(true)
    expect(pressure.sustained).toBe(true)
    pressure.record(true)
    expect(pressure.sustained).toBe(true)
    pressure.record(false)
    expect(pressure.sustained).toBe(false)
  })

  it("sheds a request with 503, Retry-After and the relay's error body, before it does anything", async () => {
    const relay = await overloadedRelay()
    await relay.spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'waiting' })
    const response = await relay.signed('builder', 'POST', '/api/v1/agents/builder/claim', { limit: 1 })
    expect(response.statusCode).toBe(503)
    expect(response.headers['retry-after']).toBe('2')
    expect(response.json()).toEqual({
      error: {
        code: 'UNAVAILABLE',
        message: 'The relay is overloaded (its memory (heap) is nearly full) and did not handle this request',
        hint: expect.stringMatching(/^Retry after 2 s: nothing was done.*--max-heap-used/),
        details: { overloaded: true, pressure: 'heapUsedBytes', retryAfterSeconds: 2 },
      },
    })
    expect(response.body).not.toMatch(/FST_UNDER_PRESSURE|stack|at .*\.js/)
    // Shed before the handler: the message is still queued for the builder.
    expect((await relay.spool.stats()).deliveries).toMatchObject({ queued: 1, leased: 0 })
  })

  it('answers a browser loading the console with a page that says so and loads itself again, not JSON', async () => {
    const relay = await overloadedRelay()
    const page = await relay.app.inject({
      method: 'GET',
      url: '/console/',
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    })
    expect(page.statusCode).toBe(503)
    expect(page.headers['retry-after']).toBe('2')
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.body).toContain('<meta http-equiv="refresh" content="2">')
    expect(page.body).toContain('The relay is overloaded')
    // The console's own API calls, and any client's, keep the JSON error the page and clients read.
    const api = await relay.app.inject({
      method: 'GET',
      url: '/api/v1/console/session',
      headers: { accept: 'text/html,*/*' },
    })
    expect(api.statusCode).toBe(503)
    expect(api.json()).toMatchObject({ error: { code: 'UNAVAILABLE', details: { overloaded: true } } })
  })

  it('sheds for resident memory over its limit too, saying which limit', async () => {
    const relay = await startTestRelay({
      listen: false,
      options: {
        overload: { maxRssBytes: 1, maxEventLoopDelayMs: 0, maxHeapUsedBytes: 0, sampleIntervalMs: 10 },
      },
    })
    await untilShedding(relay)
    const response = await relay.app.inject({ method: 'GET', url: '/api/v1/agents' })
    expect(response.statusCode).toBe(503)
    expect(errorOf(response)).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('its memory (resident) is nearly full'),
      details: { overloaded: true, pressure: 'rssBytes' },
    })
  })

  it('tells a load balancer through the health endpoints, and keeps liveness and metrics answering', async () => {
    const relay = await overloadedRelay()
    const health = await relay.app.inject({ method: 'GET', url: '/api/v1/health' })
    expect(health.statusCode).toBe(503)
    expect(health.json()).toMatchObject({ status: 'degraded', database: 'ok', underPressure: true })
    const ready = await relay.app.inject({ method: 'GET', url: '/api/v1/health/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toEqual({
      status: 'unavailable',
      database: 'ok',
      shuttingDown: false,
      underPressure: true,
    })
    const live = await relay.app.inject({ method: 'GET', url: '/api/v1/health/live' })
    expect(live.statusCode).toBe(200)
    expect((await relay.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).statusCode).toBe(503)
  })

  it('counts shed requests in the metrics, by the limit exceeded', async () => {
    const relay = await overloadedRelay()
    for (let i = 0; i < 3; i++) {
      expect((await relay.app.inject({ method: 'GET', url: '/api/v1/agents' })).statusCode).toBe(503)
    }
    const metrics = await relay.app.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.statusCode).toBe(200)
    expect(metrics.body).toContain('agent_comm_relay_shed_requests_total{reason="heapUsedBytes"} 3')
  })

  it('sheds nothing with every limit at 0', async () => {
    const relay = await startTestRelay({
      listen: false,
      options: {
        overload: {
          maxEventLoopDelayMs: 0,
          maxEventLoopUtilization: 0,
          maxHeapUsedBytes: 0,
          maxRssBytes: 0,
          sampleIntervalMs: 10,
        },
      },
    })
    await vi.waitFor(() => expect(relay.app.memoryUsage().heapUsed).toBeGreaterThan(0), {
      timeout: 60_000,
      interval: 10,
    })
    expect(relay.app.isUnderPressure()).toBe(false)
    const response = await relay.signed('builder', 'POST', '/api/v1/agents/builder/claim', {})
    expect(response.statusCode).toBe(200)
  })

  it("leaves a client that retried until its retries ran out with the relay's message and hint", async () => {
    const relay = await overloadedRelay(true)
    const waits: number[] = []
    const client = new RelayClient({
      baseUrl: relay.url,
      secretFor: (id) => relay.secrets[id],
      clock: relay.clock,
      retries: 2,
      sleep: async (ms) => {
        waits.push(ms)
      },
    })
    onCleanup(() => client.close())
    const error = await client.claim('builder').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RelayError)
    expect(error).toMatchObject({
      relayCode: 'UNAVAILABLE',
      status: 503,
      message: expect.stringMatching(/overloaded.*\(refused all 3 attempts\)/),
      hint: expect.stringContaining('--max-heap-used'),
    })
    expect(waits).toEqual([2000, 2000])
  })
})
