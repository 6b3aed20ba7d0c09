import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMessage, ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { RelayClient } from '../src/index.js'
import { onCleanup } from './helpers.js'

const T0 = Date.UTC(2026, 1, 3)

/** Server-sent event `i`: a delivery of `msg_<i>` leased with receipt `r<i>`, as the relay writes it. */
function deliveryEvent(i: number): string {
  const message = createMessage(
    { id: `msg_${i}`, fromAgent: 'architect', toAgent: 'builder', subject: `Task ${i}`, body: 'Go' },
    { clock: { now: () => T0 } },
  )
  const lease = {
    recipient: 'builder',
    attempt: 1,
    maxAttempts: 3,
    leaseUntil: new Date(T0 + 60_000).toISOString(),
    receipt: `r${i}`,
  }
  return `id: msg_${i}\nevent: message\ndata: ${JSON.stringify({ message, lease })}\n\n`
}

/**
 * A stand-in for a relay whose event stream writes `count` deliveries in one write and then stays open (as
 * the relay's does, waiting for more); it records the nacks it is sent.
 */
async function relayStreaming(count: number) {
  const nacks: { messageId: string; body: Record<string, unknown> }[] = []
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = ''
    request.on('data', (chunk) => {
      body += chunk
    })
    request.on('end', () => {
      if (request.url?.includes('/stream')) {
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        response.write(Array.from({ length: count }, (_, i) => deliveryEvent(i + 1)).join(''))
        return
      }
      const messageId = /messages\/([^/]+)\/nack$/.exec(request.url ?? '')?.[1] ?? '?'
      nacks.push({ messageId, body: JSON.parse(body) as Record<string, unknown> })
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(
        JSON.stringify({ messageId, recipient: 'builder', status: 'queued', attempt: 0, maxAttempts: 3 }),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  onCleanup(() => server.closeAllConnections())
  const client = new RelayClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secretFor: () => 'builder-secret-0000000000',
    clock: new ManualClock(T0),
  })
  onCleanup(() => client.close())
  return { client, nacks }
}

describe('an event stream the reader stops early', () => {
  it('hands back the deliveries that had arrived but were never yielded', async () => {
    const { client, nacks } = await relayStreaming(4)
    const seen: string[] = []
    for await (const claimed of client.stream('builder', { limit: 4 })) {
      seen.push(claimed.message.id)
      break
    }
    expect(seen).toEqual(['msg_1'])
    // Each with its own receipt, so a lease taken since is not touched; the one yielded keeps its lease.
    expect(nacks).toEqual(
      [2, 3, 4].map((i) => ({ messageId: `msg_${i}`, body: { handBack: true, receipt: `r${i}` } })),
    )
  })

  it('yields nothing more once its signal aborts, and hands the rest back', async () => {
    const { client, nacks } = await relayStreaming(3)
    const controller = new AbortController()
    const seen: string[] = []
    for await (const claimed of client.stream('builder', { signal: controller.signal })) {
      seen.push(claimed.message.id)
      controller.abort()
    }
    expect(seen).toEqual(['msg_1'])
    expect(nacks.map((n) => [n.messageId, n.body.handBack])).toEqual([
      ['msg_2', true],
      ['msg_3', true],
    ])
  })

  it('hands back nothing when the reader took every delivery that arrived', async () => {
    const { client, nacks } = await relayStreaming(2)
    const seen: string[] = []
    for await (const claimed of client.stream('builder')) {
      seen.push(claimed.message.id)
      if (seen.length === 2) break
    }
    expect(seen).toEqual(['msg_1', 'msg_2'])
    expect(nacks).toEqual([])
  })
})
