import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  type CollectedSpan,
  type OtlpCollector,
  otlpCollector,
} from '@agent-comm/test-support/otlp-collector'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanEnv, exited, firstLine, project, registerAgents, runCli, spawnCli, tempDir } from './helpers.js'

const RECORDER = pathToFileURL(fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url))).href

const collectors: OtlpCollector[] = []
afterEach(async () => {
  await Promise.all(collectors.splice(0).map((c) => c.close()))
})

/** A local OTLP/HTTP collector, closed after the test: the spans POSTed to /v1/traces, and every request. */
async function collector(): Promise<{ endpoint: string; spans: CollectedSpan[]; posts: string[] }> {
  const otlp = await otlpCollector()
  collectors.push(otlp)
  return { endpoint: otlp.endpoint, spans: otlp.spans, posts: otlp.requests }
}

describe('OTLP export from the CLI by the OTEL_* variables', () => {
  it("exports a command's spans (agent-comm send) to the collector, as service agent-comm", async () => {
    const otlp = await collector()
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const sent = await runCli(['send', 'architect', 'builder', 'hello', '--json'], {
      cwd: p.dir,
      env: { ...p.env, OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint },
    })
    expect(sent.code).toBe(0)
    const { messageId } = JSON.parse(sent.stdout) as { messageId: string }
    // The spans were flushed before the command exited.
    expect(otlp.posts).toContain('POST /v1/traces')
    const send = otlp.spans.find((s) => s.name === 'agent-comm send')
    expect(send).toMatchObject({
      service: 'agent-comm',
      attributes: {
        'messaging.message.id': messageId,
        'agent_comm.from_agent': 'architect',
        'agent_comm.to_agent': 'builder',
      },
    })
    // The message carries the exported trace, so its recipient continues it.
    const polled = await p.json<{
      messages: { message: { metadata?: { trace?: { traceparent: string } } } }[]
    }>(['poll', 'builder'])
    expect(polled.messages[0]?.message.metadata?.trace?.traceparent).toContain(send!.traceId)
  })

  it('exports nothing without the variables, or with OTEL_TRACES_EXPORTER=none', async () => {
    const otlp = await collector()
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    await p.ok(['send', 'architect', 'builder', 'untraced'])
    const none = await runCli(['send', 'architect', 'builder', 'untraced'], {
      cwd: p.dir,
      env: { ...p.env, OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint },
    })
    expect(none.code).toBe(0)
    expect(otlp.posts).toEqual([])
    // Sent outside any trace: no trace context is stored with the messages.
    const polled = await p.json<{ messages: { message: { metadata?: { trace?: unknown } } }[] }>([
      'poll',
      'builder',
    ])
    expect(polled.messages.map((m) => m.message.metadata?.trace)).toEqual([undefined, undefined])
  })

  it('refuses an exporter it cannot run with a CONFIG error naming agent-comm', async () => {
    const p = project()
    await registerAgents(p, 'architect')
    const result = await runCli(['agents', '--json'], {
      cwd: p.dir,
      env: { ...p.env, OTEL_TRACES_EXPORTER: 'zipkin' },
    })
    expect(result.code).not.toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      error: { code: 'CONFIG', message: expect.stringContaining('not supported by agent-comm') },
    })
  })

  it("exports the relay's request spans from agent-comm relay start, flushed when it stops", async () => {
    const otlp = await collector()
    const child = spawnCli(['relay', 'start', '--port', '0', '--json'], {
      cwd: tempDir(),
      env: cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint }),
    })
    const { url } = JSON.parse(await firstLine(child)) as { url: string }
    expect((await fetch(`${url}/api/v1/health`)).status).toBe(200)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
    const relaySpans = otlp.spans.filter((s) => s.name.startsWith('agent-comm relay '))
    expect(relaySpans.length).toBeGreaterThan(0)
    expect(relaySpans.every((s) => s.service === 'agent-comm-relay')).toBe(true)
    expect(relaySpans.map((s) => s.attributes['http.route'])).toContain('/api/v1/health')
  })

  it('loads one copy of @opentelemetry/api, its ES module build, and bundles none into the CLI', async () => {
    const otlp = await collector()
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const record = join(p.dir, 'modules.txt')
    const recorded = { NODE_OPTIONS: `--import=${RECORDER}`, RECORD_MODULES_TO: record }
    const otel = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint }
    const sent = await runCli(['send', 'architect', 'builder', 'hello'], {
      cwd: p.dir,
      env: { ...p.env, ...otel, ...recorded },
    })
    expect(sent.code, sent.stderr).toBe(0)
    const sendModules = readFileSync(record, 'utf8').split('\n')
    const relay = spawnCli(['relay', 'start', '--port', '0', '--json'], {
      cwd: tempDir(),
      env: cleanEnv({ ...otel, ...recorded }),
    })
    const { url } = JSON.parse(await firstLine(relay)) as { url: string }
    expect((await fetch(`${url}/api/v1/health`)).status).toBe(200)
    relay.kill('SIGTERM')
    expect(await exited(relay)).toBe(0)
    const relayModules = readFileSync(record, 'utf8').split('\n')
    const commonJsApi = /[\\/]@opentelemetry[\\/]api[\\/]dist[\\/]index\.cjs$/
    // prom-client (the relay's /metrics) requires the API's CommonJS build in its CPU metric, only to read
    // the active span for exemplars, which the relay leaves off; both builds share the API's global
    // registry, and no tracer is taken from that copy. It is the only module allowed to load it.
    const promClientCpu = /[\\/]prom-client[\\/]lib[\\/]metrics[\\/]processCpuTotal\.js$/
    const relayCommonJs = relayModules.findIndex((m) => commonJsApi.test(m))
    if (relayCommonJs !== -1) expect(relayModules[relayCommonJs - 1]).toMatch(promClientCpu)
    for (const modules of [sendModules, relayModules.filter((m) => !commonJsApi.test(m))]) {
      // The SDK, the coordinator, the transports and the relay all use this one entry: a CommonJS SDK would
      // load the CommonJS build beside it, and its provider would never reach spans made through this one.
      expect(modules.filter((m) => /[\\/]@opentelemetry[\\/]api[\\/]dist[\\/]index\./.test(m))).toEqual([
        expect.stringMatching(/[\\/]@opentelemetry[\\/]api[\\/]dist[\\/]index\.mjs$/),
      ])
      // No file of the CLI holds a copy of the API of its own (its registration code, with this message, is
      // in every copy; the coordinator names the global registry key only to look whether it is set).
      const cliFiles = modules.filter((m) => m.startsWith('file:') && m.includes(`${join('cli', 'dist')}`))
      expect(cliFiles.length).toBeGreaterThan(0)
      for (const file of cliFiles) {
        const source = readFileSync(fileURLToPath(file), 'utf8')
        expect(source.includes('Attempted duplicate registration of API'), file).toBe(false)
      }
    }
    expect(otlp.spans.map((s) => s.name)).toEqual(
      expect.arrayContaining(['agent-comm send', 'agent-comm relay GET /api/v1/health']),
    )
  })
})
