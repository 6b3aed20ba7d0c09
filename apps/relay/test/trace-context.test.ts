import { BridgeRunner, CommandBridge } from '@agent-comm/bridge'
import { createCoordinator, loadConfig } from '@agent-comm/coordinator'
import { recordSpans } from '@agent-comm/test-support/spans'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { describe, expect, it, vi } from 'vitest'
import { onCleanup, startTestRelay, tempDir } from './helpers.js'

const exporter = recordSpans()

/** Prints the TRACEPARENT its bridge gave it, after reading the message on stdin. */
const PRINT_TRACEPARENT =
  "process.stdin.resume(); process.stdin.on('end', () => process.stdout.write(process.env.TRACEPARENT ?? 'none'))"

describe('trace context across relay and bridge', () => {
  it('makes one request through the relay to a command bridge and back one trace', async () => {
    const relay = await startTestRelay({ agents: ['architect', 'builder'] })
    await relay.registry.register({ agentId: 'architect' })
    await relay.registry.register({ agentId: 'builder' })
    const open = async (identity: string) => {
      const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: tempDir() }), {
        clock: relay.clock,
        http: () => relay.transport(identity),
      })
      onCleanup(() => coord.close())
      for (const agentId of ['architect', 'builder'])
        await coord.register({ agentId, transport: 'http', relayUrl: relay.url })
      return coord
    }
    const requester = await open('architect')
    const bridgeSide = await open('builder')
    const stop = new AbortController()
    const running = new BridgeRunner({
      coordinator: bridgeSide,
      agent: 'builder',
      bridge: new CommandBridge({ command: process.execPath, args: ['-e', PRINT_TRACEPARENT] }),
      intervalMs: 1_000,
    }).run({ signal: stop.signal })

    const reply = await requester.request(
      { fromAgent: 'architect', toAgent: 'builder', body: 'what is your traceparent?' },
      { timeoutMs: 120_000 },
    )

    const spans = () => exporter.getFinishedSpans()
    const named = (name: string) => spans().filter((s) => s.name === name)
    // The bridge acks after the requester has its reply: wait for its forward span to end.
    await vi.waitFor(() => expect(named('agent-comm bridge forward')).toHaveLength(1), { timeout: 60_000 })
    stop.abort()
    await running

    const [request] = named('agent-comm request') as [ReadableSpan]
    const traceId = request.spanContext().traceId
    const inTrace = (s: ReadableSpan) => s.spanContext().traceId === traceId
    const sends = named('agent-comm send')
    const requestSend = sends.find((s) => s.attributes['agent_comm.from_agent'] === 'architect')
    const replySend = sends.find((s) => s.attributes['agent_comm.from_agent'] === 'builder')
    const [forward] = named('agent-comm bridge forward') as [ReadableSpan]

    // requester → relay: the request's send span is a child of the request span, and the relay's span for
    // the POST is a child of that send span (the HTTP transport sent its traceparent).
    expect(requestSend?.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    const relayPosts = named('agent-comm relay POST /api/v1/messages')
    expect(relayPosts.length).toBeGreaterThanOrEqual(2)
    expect(relayPosts.every(inTrace)).toBe(true)
    expect(relayPosts.map((s) => s.parentSpanContext?.spanId)).toContain(requestSend?.spanContext().spanId)
    expect(relayPosts.map((s) => s.parentSpanContext?.spanId)).toContain(replySend?.spanContext().spanId)

    // relay → bridge: the forward span continues the trace the message carried, and its command got it.
    expect(inTrace(forward)).toBe(true)
    expect(forward.parentSpanContext?.spanId).toBe(requestSend?.spanContext().spanId)
    expect(forward.attributes).toMatchObject({
      'messaging.message.id': requestSend?.attributes['messaging.message.id'],
      'agent_comm.agent': 'builder',
      'agent_comm.attempt': 1,
    })
    expect(reply.body).toBe(`00-${traceId}-${forward.spanContext().spanId}-01`)

    // bridge → requester: the reply's send span is a child of the forward span, and the reply carries it.
    expect(replySend?.parentSpanContext?.spanId).toBe(forward.spanContext().spanId)
    expect(reply.metadata?.trace).toEqual({
      traceparent: `00-${traceId}-${replySend?.spanContext().spanId}-01`,
    })
    // The requester's wait for the reply went through the relay in the same trace.
    expect(
      named('agent-comm relay POST /api/v1/agents/:agentId/replies/:requestId/claim').some(inTrace),
    ).toBe(true)
  })
})
