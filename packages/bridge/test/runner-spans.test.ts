import { createRequire } from 'node:module'
import { trace } from '@opentelemetry/api'
import { describe, expect, it } from 'vitest'
import { BridgeRunner, FunctionBridge } from '../src/index.js'
import { onCleanup, openCoordinator } from './helpers.js'

describe('BridgeRunner spans', () => {
  it('records its forwards with a tracer provider registered after it was loaded, even through the CommonJS build of the API', async () => {
    // The runner's module is loaded (imported above) before any SDK. A program whose SDK is CommonJS (as
    // @opentelemetry/sdk-trace-node is) registers through the CommonJS build of @opentelemetry/api, a
    // second copy beside the ES module build the bridge imports.
    const require = createRequire(import.meta.url)
    const cjsApi = require('@opentelemetry/api') as typeof import('@opentelemetry/api')
    const sdk = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace')
    expect(cjsApi.trace).not.toBe(trace)
    const exporter = new sdk.InMemorySpanExporter()
    cjsApi.trace.setGlobalTracerProvider(
      new sdk.TracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor({ exporter })] }),
    )
    onCleanup(() => cjsApi.trace.disable())
    const coord = await openCoordinator()
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'implement' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new FunctionBridge(async (message) => `done: ${message.body}`),
    }).run({ once: true })
    const forward = exporter.getFinishedSpans().find((span) => span.name === 'agent-comm bridge forward')
    expect(forward?.attributes).toMatchObject({
      'agent_comm.agent': 'builder',
      'agent_comm.to_agent': 'builder',
    })
  })
})
