import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isAgentCommError } from '@agent-comm/protocol'
import { context, trace } from '@opentelemetry/api'
import { afterEach, describe, expect, it } from 'vitest'
import { otlpTracesUrl, startTracingFromEnv } from '../src/otel.js'

afterEach(() => {
  trace.disable()
  context.disable()
})

describe('OTLP export from OTEL_* variables', () => {
  it('turns export on only when the standard variables ask for it', () => {
    expect(otlpTracesUrl({})).toBeUndefined()
    expect(
      otlpTracesUrl({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
    ).toBe(undefined)
    expect(otlpTracesUrl({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBeUndefined()
    expect(otlpTracesUrl({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe('http://localhost:4318/v1/traces')
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces')
    expect(
      otlpTracesUrl({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9999/traces',
      }),
    ).toBe('http://t:9999/traces')
  })

  it('refuses an exporter or protocol it cannot run, with a hint', () => {
    for (const env of [
      { OTEL_TRACES_EXPORTER: 'zipkin' },
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    ]) {
      let caught: unknown
      try {
        otlpTracesUrl(env)
      } catch (error) {
        caught = error
      }
      expect(isAgentCommError(caught, 'CONFIG')).toBe(true)
      expect((caught as { hint?: string }).hint).toBeTruthy()
    }
  })

  it('exports spans to the OTLP endpoint and flushes them on shutdown', async () => {
    const received: { url: string | undefined; body: string }[] = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => {
        body += chunk
      })
      req.on('end', () => {
        received.push({ url: req.url, body })
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{}')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const tracing = await startTracingFromEnv({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      })
      expect(tracing?.url).toBe(`${endpoint}/v1/traces`)
      trace.getTracer('test').startSpan('agent-comm relay test span').end()
      await tracing?.shutdown()
      expect(received.map((r) => r.url)).toContain('/v1/traces')
      expect(received.map((r) => r.body).join('')).toContain('agent-comm relay test span')
      expect(received.map((r) => r.body).join('')).toContain('agent-comm-relay')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
