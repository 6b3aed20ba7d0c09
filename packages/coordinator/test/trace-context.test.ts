import { join } from 'node:path'
import type { JsonValue } from '@agent-comm/protocol'
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

  it('refuses malformed trace metadata at send (VALIDATION naming the field), storing nothing', async () => {
    const { coord, root } = await openCoordinator()
    await coord.register({ agentId: 'architect' })
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'filer', transport: 'file', inboxDir: join(root, 'files') })
    const bad: [JsonValue, string][] = [
      [{ traceparent: 'garbage' }, 'metadata.trace.traceparent'],
      [`${TRACEPARENT}`, 'metadata.trace'],
      [{ traceparent: TRACEPARENT.toUpperCase() }, 'metadata.trace.traceparent'],
      [{ traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }, 'metadata.trace.traceparent'],
      [{ traceparent: TRACEPARENT, tracestate: 'a'.repeat(600) }, 'metadata.trace.tracestate'],
      [{ traceparent: TRACEPARENT, tracestate: 'a=1\r\nInjected: yes' }, 'metadata.trace.tracestate'],
    ]
    for (const [trace, path] of bad) {
      for (const toAgent of ['builder', 'filer']) {
        await expect(
          coord.send({ fromAgent: 'architect', toAgent, body: 'x', metadata: { trace } }),
        ).rejects.toMatchObject({
          code: 'VALIDATION',
          issues: [expect.objectContaining({ path })],
          hint: expect.stringContaining('Leave metadata.trace out'),
        })
      }
    }
    expect(await coord.pending('builder')).toHaveLength(0)
    const sent = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    await expect(
      coord.reply(sent.message, { body: 'y', metadata: { trace: { traceparent: 'garbage' } } }),
    ).rejects.toMatchObject({ code: 'VALIDATION' })
  })
})
