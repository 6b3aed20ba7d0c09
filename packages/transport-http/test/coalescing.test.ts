import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMessage, IdGenerator, LeaseLostError, ManualClock, type MessageV2 } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { RelayClient } from '../src/index.js'
import { onCleanup } from './helpers.js'

/** The parts of request bodies these tests read (sends, batches, claims and batch acks). */
interface Body {
  message: MessageV2
  items: { message: MessageV2; messageId: string }[]
  limit: number
}
interface Recorded {
  method: string
  url: string
  body: Body
}
type Answer = (request: Recorded) => [number, unknown] | undefined

/** A stand-in relay: records each request (body parsed) and answers with what `answer` returns. */
async function fakeRelay(answer: Answer) {
  const requests: Recorded[] = []
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = ''
    request.on('data', (chunk) => {
      text += chunk
    })
    request.on('end', () => {
      const recorded = {
        method: request.method ?? '',
        url: request.url ?? '',
        body: (text === '' ? {} : JSON.parse(text)) as Body,
      }
      requests.push(recorded)
      const reply = answer(recorded)
      if (reply === undefined) return
      response.writeHead(reply[0], { 'content-type': 'application/json' })
      response.end(JSON.stringify(reply[1]))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  onCleanup(() => server.closeAllConnections())
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

const secrets: Record<string, string> = {
  architect: 'architect-secret-000000000',
  builder: 'builder-secret-0000000000',
}

function client(url: string, extra: Partial<ConstructorParameters<typeof RelayClient>[0]> = {}) {
  const c = new RelayClient({
    baseUrl: url,
    secretFor: (id) => secrets[id],
    clock: new ManualClock(Date.UTC(2026, 1, 3)),
    retryDelayMs: 1,
    ...extra,
  })
  onCleanup(() => c.close())
  return c
}

const ids = new IdGenerator()
const message = (subject: string) =>
  createMessage({ fromAgent: 'architect', toAgent: 'builder', subject, body: 'b' }, { ids })

const summary = (m: { id: string }, duplicate = false) => ({
  messageId: m.id,
  duplicate,
  deliveries: duplicate ? 0 : 1,
  recipients: ['builder'],
})
const acked = (messageId: string) => ({
  messageId,
  recipient: 'builder',
  status: 'acked',
  alreadyAcked: false,
})
const lost = (messageId: string) => [
  409,
  { error: { code: 'LEASE_LOST', message: 'lease lost', details: { messageId, agentId: 'builder' } } },
]
const claimed = (i: number) => {
  const m = message(`m${i}`)
  return {
    message: m,
    lease: {
      recipient: 'builder',
      attempt: 1,
      maxAttempts: 3,
      leaseUntil: '2026-02-03T00:05:00.000Z',
      receipt: `r${i}.${i}`,
    },
  }
}

describe('RelayClient: concurrent calls share requests', () => {
  it('sends the messages one agent sends at the same time as one batch, each caller getting its own result', async () => {
    const relay = await fakeRelay((r) =>
      r.url.endsWith('/messages/batch')
        ? [200, { results: r.body.items.map((item) => summary(item.message)) }]
        : [200, { ...summary(r.body.message), message: r.body.message }],
    )
    const c = client(relay.url)
    const messages = [message('a'), message('b'), message('c')]
    const results = await Promise.all(messages.map((m) => c.send(m)))
    expect(relay.requests.map((r) => r.url)).toEqual(['/api/v1/messages/batch'])
    expect(relay.requests[0]?.body.items.map((item) => item.message.id)).toEqual(messages.map((m) => m.id))
    expect(results).toEqual(messages.map((m) => ({ ...summary(m), message: m })))

    // One send on its own goes as it always did.
    const lone = message('d')
    await c.send(lone, { maxAttempts: 5 })
    expect(relay.requests.at(-1)).toMatchObject({
      url: '/api/v1/messages',
      body: { message: { id: lone.id }, maxAttempts: 5 },
    })
  })

  it('asks again for a message the batch found already stored, so the caller sees the stored one', async () => {
    const first = message('first')
    const stored = { ...first, subject: 'the stored one' }
    const relay = await fakeRelay((r) =>
      r.url.endsWith('/messages/batch')
        ? [200, { results: r.body.items.map((item) => summary(item.message, item.message.id === first.id)) }]
        : [200, { ...summary(first, true), message: stored }],
    )
    const c = client(relay.url)
    const [again, fresh] = await Promise.all([c.send(first), c.send(message('second'))])
    expect(again).toMatchObject({ duplicate: true, message: { subject: 'the stored one' } })
    expect(fresh).toMatchObject({ duplicate: false, message: { subject: 'second' } })
    expect(relay.requests.map((r) => r.url)).toEqual(['/api/v1/messages/batch', '/api/v1/messages'])
  })

  it('claims once for concurrent claims of one agent and shares the messages out in claim order', async () => {
    const available = [claimed(1), claimed(2), claimed(3), claimed(4)]
    const relay = await fakeRelay((r) => [200, { messages: available.slice(0, r.body.limit) }])
    const c = client(relay.url)
    const [a, b, d] = await Promise.all([
      c.claim('builder', { limit: 1, leaseSeconds: 30 }),
      c.claim('builder', { limit: 2, leaseSeconds: 30 }),
      c.claim('builder', { limit: 5, leaseSeconds: 30 }),
    ])
    expect(relay.requests.map((r) => [r.url, r.body])).toEqual([
      ['/api/v1/agents/builder/claim', { limit: 8, leaseSeconds: 30 }],
    ])
    expect(a?.map((x) => x.lease.receipt)).toEqual(['r1.1'])
    expect(b?.map((x) => x.lease.receipt)).toEqual(['r2.2', 'r3.3'])
    expect(d?.map((x) => x.lease.receipt)).toEqual(['r4.4'])
  })

  it('never shares a long poll, a claim with another lease, or more than 100 messages in one claim', async () => {
    const relay = await fakeRelay(() => [200, { messages: [] }])
    const c = client(relay.url)
    await Promise.all([
      c.claim('builder', { limit: 60 }),
      c.claim('builder', { limit: 60 }),
      c.claim('builder', { limit: 1, leaseSeconds: 10 }),
      c.claim('builder', { limit: 1, waitMs: 5 }),
    ])
    expect(
      relay.requests.map((r) => r.body).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    ).toEqual([{ limit: 1, leaseSeconds: 10 }, { limit: 1, waitMs: 5 }, { limit: 60 }, { limit: 60 }])
  })

  it('acks concurrent acks in one batch; when one is refused, sends them one by one so only its caller fails', async () => {
    const relay = await fakeRelay((r) => {
      if (r.url.endsWith('/agents/builder/ack')) {
        return r.body.items.some((item) => item.messageId === 'msg_bad')
          ? (lost('msg_bad') as [number, unknown])
          : [200, { results: r.body.items.map((item) => acked(item.messageId)) }]
      }
      const id = r.url.split('/')[6] as string
      return id === 'msg_bad' ? (lost(id) as [number, unknown]) : [200, acked(id)]
    })
    const c = client(relay.url)
    expect(
      await Promise.all([c.ack('msg_1', 'builder', { receipt: 'r.1' }), c.ack('msg_2', 'builder')]),
    ).toEqual([acked('msg_1'), acked('msg_2')])
    expect(relay.requests.map((r) => [r.url, r.body])).toEqual([
      [
        '/api/v1/agents/builder/ack',
        { items: [{ messageId: 'msg_1', receipt: 'r.1' }, { messageId: 'msg_2' }] },
      ],
    ])

    const outcomes = await Promise.allSettled([c.ack('msg_3', 'builder'), c.ack('msg_bad', 'builder')])
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: acked('msg_3') })
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: expect.any(LeaseLostError) })
    expect(relay.requests.slice(1).map((r) => r.url)).toEqual([
      '/api/v1/agents/builder/ack',
      '/api/v1/agents/builder/messages/msg_3/ack',
      '/api/v1/agents/builder/messages/msg_bad/ack',
    ])
  })

  it('fails every call of a batch the relay refused as a whole, without sending them again', async () => {
    const relay = await fakeRelay(() => [401, { error: { code: 'UNAUTHENTICATED', message: 'who are you' } }])
    const c = client(relay.url)
    const outcomes = await Promise.allSettled([c.send(message('a')), c.send(message('b'))])
    expect(
      outcomes.map((o) => o.status === 'rejected' && (o.reason as { relayCode?: string }).relayCode),
    ).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED'])
    expect(relay.requests).toHaveLength(1)
  })

  it('rejects an aborted call at once and leaves it out of the request; the others carry on', async () => {
    const relay = await fakeRelay((r) => [
      200,
      { results: r.body.items.map((item) => acked(item.messageId)) },
    ])
    const c = client(relay.url)
    const abort = new AbortController()
    const calls = [
      c.ack('msg_1', 'builder'),
      c.ack('msg_2', 'builder', { signal: abort.signal }),
      c.ack('msg_3', 'builder'),
    ]
    abort.abort(new Error('no longer needed'))
    const outcomes = await Promise.allSettled(calls)
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(relay.requests[0]?.body.items.map((item) => item.messageId)).toEqual(['msg_1', 'msg_3'])
  })

  it('sends every call on its own with coalesce: false', async () => {
    const relay = await fakeRelay((r) => [200, acked(r.url.split('/')[6] as string)])
    const c = client(relay.url, { coalesce: false })
    await Promise.all([c.ack('msg_1', 'builder'), c.ack('msg_2', 'builder')])
    expect(relay.requests.map((r) => r.url).sort()).toEqual([
      '/api/v1/agents/builder/messages/msg_1/ack',
      '/api/v1/agents/builder/messages/msg_2/ack',
    ])
  })
})
