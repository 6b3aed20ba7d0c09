import { describe, expect, it } from 'vitest'
import { openCoordinator } from './helpers.js'

// No OpenTelemetry SDK is registered here: the API's no-op tracer must still carry a trace that arrived
// with a message, and add nothing to a message sent outside any trace.
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

async function setup() {
  const opened = await openCoordinator()
  await opened.coord.register({ agentId: 'architect' })
  await opened.coord.register({ agentId: 'builder' })
  return opened.coord
}

describe('trace context in message metadata', () => {
  it('adds no trace metadata to a message sent outside any trace', async () => {
    const coord = await setup()
    const sent = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'hi' })
    expect(sent.message.metadata?.trace).toBeUndefined()
    const [claimed] = await coord.poll('builder')
    expect(claimed?.message.metadata?.trace).toBeUndefined()
  })

  it("continues the request's trace in its reply, without an SDK", async () => {
    const coord = await setup()
    const request = await coord.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      body: 'build it',
      metadata: { trace: { traceparent: TRACEPARENT, tracestate: 'vendor=1' }, ticket: 7 },
    })
    expect(request.message.metadata).toEqual({
      trace: { traceparent: TRACEPARENT, tracestate: 'vendor=1' },
      ticket: 7,
    })
    const [claimed] = await coord.poll('builder')
    const reply = await coord.reply(claimed!, { body: 'built' })
    await coord.ack(claimed!)
    expect(reply.message.metadata?.trace).toEqual({ traceparent: TRACEPARENT, tracestate: 'vendor=1' })
  })

  it('ignores malformed trace metadata instead of failing the reply', async () => {
    const coord = await setup()
    await coord.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      body: 'x',
      metadata: { trace: { traceparent: 'not-a-traceparent' } },
    })
    const [claimed] = await coord.poll('builder')
    const reply = await coord.reply(claimed!, { body: 'y' })
    expect(reply.message.metadata?.trace).toBeUndefined()
  })
})
