import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { isAgentCommError } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import { otlpCollector } from '@agent-comm/test-support/otlp-collector'
import { RelayClient } from '@agent-comm/transport-http'
import { context, ProxyTracerProvider, propagation, trace } from '@opentelemetry/api'
import { afterEach, describe, expect, it } from 'vitest'
import { relayConfig } from '../src/config.js'
import { otlpTracesUrl, startTracingFromEnv } from '../src/otel.js'
import { startRelay } from '../src/start.js'
import { onCleanup, tempDir } from './helpers.js'
import { listening, spawnRelay } from './relay-bin.js'

afterEach(() => {
  trace.disable()
  context.disable()
  propagation.disable()
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
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'notaurl' },
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

  it('names the protocol variable that asked for grpc, the traces one or the general one', () => {
    expect(() =>
      otlpTracesUrl({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }),
    ).toThrow('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL grpc is not supported')
    expect(() =>
      otlpTracesUrl({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).toThrow('OTEL_EXPORTER_OTLP_PROTOCOL grpc is not supported')
  })

  it('names the variable of an endpoint that is not an http(s) URL, without its password', () => {
    expect(() => otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl' })).toThrow(
      "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL (got 'notaurl')",
    )
    expect(() =>
      otlpTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://u:pw-of-it@c/v1/traces' }),
    ).toThrow(
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http:// or https:// URL (got 'ftp://u@c/v1/traces')",
    )
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

  it('reports where spans go without the credentials or token an endpoint URL carries', async () => {
    const server = createServer((_req, res) => res.end('{}'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const port = (server.address() as AddressInfo).port
    const tracing = await startTracingFromEnv({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://ops:S3cret-pw@127.0.0.1:${port}/v1/traces?api_key=S3cret-key`,
    })
    onCleanup(() => tracing?.shutdown())
    expect(tracing?.url).toBe(`http://ops@127.0.0.1:${port}/v1/traces`)
  })

  it('registers the SDK with the one copy of @opentelemetry/api the relay imports (its ES module build)', async () => {
    const server = createServer((_req, res) => res.end('{}'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const tracing = await startTracingFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    })
    onCleanup(() => tracing?.shutdown())
    // The provider the relay's `import { trace } from '@opentelemetry/api'` sees is this copy's proxy,
    // holding the SDK: a CommonJS SDK would have registered the proxy of the CommonJS build instead.
    const provider = trace.getTracerProvider()
    expect(provider).toBeInstanceOf(ProxyTracerProvider)
    expect((provider as ProxyTracerProvider).getDelegateTracer('@agent-comm/relay')).toBeDefined()
  })
})

describe('the relay and a tracer provider registered after it was built', () => {
  it("records the requests of a relay started before the program's SDK, registered through the CommonJS build of the API", async () => {
    const relay = await startRelay(
      relayConfig({ dataDir: join(tempDir(), 'relay'), port: 0, logLevel: 'warn' }),
    )
    onCleanup(() => relay.close())
    expect((await fetch(`${relay.url}/api/v1/health`)).status).toBe(200) // served before any SDK
    // A program whose SDK is CommonJS (as @opentelemetry/sdk-trace-node is) registers through the CommonJS
    // build of @opentelemetry/api, a second copy beside the ES module build the relay imports.
    const require = createRequire(import.meta.url)
    const cjsApi = require('@opentelemetry/api') as typeof import('@opentelemetry/api')
    const sdk = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace')
    expect(cjsApi.trace).not.toBe(trace)
    const exporter = new sdk.InMemorySpanExporter()
    cjsApi.trace.setGlobalTracerProvider(
      new sdk.TracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor({ exporter })] }),
    )
    onCleanup(() => cjsApi.trace.disable())
    expect((await fetch(`${relay.url}/api/v1/health`)).status).toBe(200)
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([
      'agent-comm relay GET /api/v1/health',
    ])
  })
})

/** Resolves with the exit code of `child` once it has exited. */
const exitCode = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else child.once('exit', (code) => resolve(code))
  })

describe('the agent-comm-relay bin with OTEL_* variables', () => {
  it("sends each request's server span to the OTLP collector, flushed on SIGTERM", async () => {
    const otlp = await otlpCollector()
    onCleanup(() => otlp.close())
    const dataDir = join(tempDir(), 'relay')
    const store = await SecretStore.open({ path: SecretStore.fileIn(dataDir) })
    const { secret } = await store.generate('architect')
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')))
    const relay = spawnRelay(['--port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
      ...env,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
    })
    const url = await listening(relay)
    const client = new RelayClient({ baseUrl: url, secretFor: () => secret })
    await client.register({ agentId: 'architect', capabilities: [] })
    await client.claim('architect')
    await client.close()
    // A request carrying a W3C traceparent: its server span continues the caller's trace.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const health = await fetch(`${url}/api/v1/health`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    })
    expect(health.status).toBe(200)
    expect(otlp.spans).toEqual([]) // Batched: nothing is sent before the relay stops or the batch is due.
    relay.kill('SIGTERM')
    expect(await exitCode(relay)).toBe(0)

    expect(otlp.requests).toContain('POST /v1/traces')
    expect(otlp.spans.every((span) => span.service === 'agent-comm-relay')).toBe(true)
    const names = otlp.spans.map((span) => span.name)
    expect(names).toContain('agent-comm relay POST /api/v1/agents/:agentId/claim')
    const claim = otlp.spans.find((span) => span.name.endsWith('/claim'))
    expect(claim?.attributes).toMatchObject({
      'agent_comm.agent': 'architect',
      'agent_comm.caller': 'architect',
    })
    expect(Number(claim?.attributes['http.response.status_code'])).toBe(200)
    expect(otlp.spans.find((span) => span.name === 'agent-comm relay GET /api/v1/health')).toMatchObject({
      traceId,
      parentSpanId: '00f067aa0ba902b7',
    })
  })
})
