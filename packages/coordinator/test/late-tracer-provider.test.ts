import { createRequire } from 'node:module'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import * as sdk from '@opentelemetry/sdk-trace'
import { describe, expect, it } from 'vitest'
import type { Coordinator } from '../src/index.js'
import { onCleanup, openCoordinator } from './helpers.js'

// No SDK at load: each test registers one after the coordinator's first operation, as a program that
// starts its telemetry lazily (or asynchronously) does.

type OpenTelemetryApi = typeof import('@opentelemetry/api')
type OpenTelemetrySdk = typeof import('@opentelemetry/sdk-trace')

/** Registers a tracer provider recording to an in-memory exporter, through `api`; removed after the test. */
function register(api: OpenTelemetryApi, traceSdk: OpenTelemetrySdk): sdk.InMemorySpanExporter {
  const exporter = new traceSdk.InMemorySpanExporter()
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  api.trace.setGlobalTracerProvider(
    new traceSdk.TracerProvider({ spanProcessors: [new traceSdk.SimpleSpanProcessor({ exporter })] }),
  )
  onCleanup(() => {
    api.trace.disable()
    api.context.disable()
  })
  return exporter
}

async function setup(): Promise<Coordinator> {
  const { coord } = await openCoordinator()
  await coord.register({ agentId: 'architect' })
  await coord.register({ agentId: 'builder' })
  return coord
}

/** Sends, claims and acks one message; its span names and the trace the message carried. */
async function roundTrip(coord: Coordinator, body: string, exporter: sdk.InMemorySpanExporter) {
  exporter.reset()
  await coord.send({ fromAgent: 'architect', toAgent: 'builder', body })
  const [claimed] = await coord.poll('builder')
  await coord.ack(claimed!)
  return {
    spans: exporter.getFinishedSpans().map((span) => span.name),
    trace: claimed!.message.metadata?.trace,
  }
}

/** The spans of one send, claim and ack. */
const EVERY_SPAN = ['agent-comm send', 'agent-comm receive', 'agent-comm claim', 'agent-comm ack']

/** A coordinator that sent and acked once before `registerSdk` ran, then one round trip's spans. */
async function roundTripAfterLateRegistration(registerSdk: () => sdk.InMemorySpanExporter) {
  const coord = await setup()
  await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'before any SDK' })
  await coord.ack((await coord.poll('builder'))[0]!)
  return roundTrip(coord, 'after', registerSdk())
}

describe('a tracer provider registered after the first operation', () => {
  it('gets the spans of every later operation', async () => {
    const after = await roundTripAfterLateRegistration(() =>
      register({ context, trace } as OpenTelemetryApi, sdk),
    )
    expect(after.spans).toEqual(EVERY_SPAN)
    expect(after.trace).toMatchObject({ traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-/) })
  })

  it('registered through the CommonJS build of @opentelemetry/api (a CommonJS SDK) gets them too', async () => {
    // @opentelemetry/sdk-trace-node, for one, is CommonJS only: it registers through the CommonJS build, a
    // second copy of the API beside the ES module build the coordinator uses.
    const require = createRequire(import.meta.url)
    const cjsApi = require('@opentelemetry/api') as OpenTelemetryApi
    expect(cjsApi.trace).not.toBe(trace)
    const after = await roundTripAfterLateRegistration(() =>
      register(cjsApi, require('@opentelemetry/sdk-trace') as OpenTelemetrySdk),
    )
    expect(after.spans).toEqual(EVERY_SPAN)
    expect(after.trace).toMatchObject({ traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-/) })
  })

  it('replacing the provider (trace.disable(), then another) sends the spans to the new one', async () => {
    const coord = await setup()
    const first = new sdk.InMemorySpanExporter()
    trace.setGlobalTracerProvider(
      new sdk.TracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor({ exporter: first })] }),
    )
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'to the first' })
    expect(first.getFinishedSpans().map((span) => span.name)).toEqual(['agent-comm send'])
    trace.disable()
    const second = register({ context, trace } as OpenTelemetryApi, sdk)
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'to the second' })
    expect(second.getFinishedSpans().map((span) => span.name)).toEqual(['agent-comm send'])
    expect(first.getFinishedSpans()).toHaveLength(1)
  })
})
