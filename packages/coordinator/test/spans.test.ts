import { recordSpans } from '@agent-comm/test-support/spans'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Coordinator } from '../src/index.js'
import { openCoordinator } from './helpers.js'

// A real SDK with the in-memory exporter: what the coordinator's spans record, not only that they exist.
const exporter = recordSpans()

beforeEach(() => exporter.reset())

const named = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name)
const parentOf = (span: ReadableSpan | undefined) => span?.parentSpanContext?.spanId
const idOf = (span: ReadableSpan | undefined) => span?.spanContext().spanId

async function setup(): Promise<Coordinator> {
  const { coord } = await openCoordinator()
  await coord.register({ agentId: 'architect' })
  await coord.register({ agentId: 'builder' })
  return coord
}

describe('spans of the internal claims and acks', () => {
  it("records awaitReply's claim and ack of the reply as children of the request span", async () => {
    const coord = await setup()
    const waiting = coord.request(
      { fromAgent: 'architect', toAgent: 'builder', body: 'build it' },
      { timeoutMs: 120_000 },
    )
    const [task] = await coord.poll('builder', { waitMs: 60_000 })
    await coord.reply(task!, { body: 'built' })
    await coord.ack(task!)
    const reply = await waiting

    const [request] = named('agent-comm request')
    const requestId = reply.routing.replyTo
    const replyClaims = named('agent-comm claim').filter(
      (s) => s.attributes['agent_comm.reply_to'] === requestId,
    )
    // The wait may take more than one slice; the last one claimed the reply.
    const claimed = replyClaims.find((s) => s.attributes['messaging.batch.message_count'] === 1)
    expect(claimed?.attributes).toMatchObject({
      'agent_comm.agent': 'architect',
      'messaging.message.id': reply.id,
      'agent_comm.from_agent': 'builder',
      'agent_comm.attempt': 1,
    })
    for (const claim of replyClaims) expect(parentOf(claim)).toBe(idOf(request))
    const replyAck = named('agent-comm ack').find((s) => s.attributes['messaging.message.id'] === reply.id)
    expect(replyAck?.attributes).toMatchObject({ 'agent_comm.agent': 'architect', 'agent_comm.attempt': 1 })
    expect(parentOf(replyAck)).toBe(idOf(request))
    expect(replyAck?.spanContext().traceId).toBe(request?.spanContext().traceId)
    // The reply's receipt is recorded too, in the request's trace (the reply continued it).
    const received = named('agent-comm receive').find(
      (s) => s.attributes['messaging.message.id'] === reply.id,
    )
    expect(received?.spanContext().traceId).toBe(request?.spanContext().traceId)
  })

  it('records an ack span for each message a messages({ autoAck }) loop settles with its next claim', async () => {
    const coord = await setup()
    const sent: { id: string; traceId: string }[] = []
    for (const body of ['one', 'two', 'three']) {
      const report = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body })
      const [send] = named('agent-comm send').filter(
        (s) => s.attributes['messaging.message.id'] === report.messageId,
      )
      sent.push({ id: report.messageId, traceId: send!.spanContext().traceId })
    }
    const stop = new AbortController()
    let seen = 0
    for await (const _ of coord.messages('builder', { signal: stop.signal, autoAck: true })) {
      if (++seen === 3) stop.abort()
    }

    const acks = named('agent-comm ack')
    for (const { id, traceId } of sent) {
      const ack = acks.filter((s) => s.attributes['messaging.message.id'] === id)
      expect(ack).toHaveLength(1)
      // Outside any span, an ack goes into the trace the message carries, as a separate ack would.
      expect(ack[0]?.spanContext().traceId).toBe(traceId)
      expect(ack[0]?.attributes).toMatchObject({ 'agent_comm.agent': 'builder', 'agent_comm.attempt': 1 })
    }
    // The first two were acked in the transaction that claimed the next message: claim spans say so.
    const settling = named('agent-comm claim').filter((s) => s.attributes['agent_comm.acked'] === 1)
    expect(settling.map((s) => s.attributes['messaging.message.id'])).toEqual([sent[1]?.id, sent[2]?.id])
    const receives = named('agent-comm receive').map((s) => s.attributes['messaging.message.id'])
    expect(receives).toEqual(sent.map((s) => s.id))
  })
})
