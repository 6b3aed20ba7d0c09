import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ClaimedMessage, createMessage, type Logger, ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { RelayClient } from '../src/index.js'
import { onCleanup } from './helpers.js'

const T0 = Date.UTC(2026, 1, 3)

/** A claimed delivery as the relay sends it, as JSON text. */
function deliveryText(subject: string, receipt: string, metadata = '{}'): string {
  const message = createMessage(
    { id: `msg_${subject}`, fromAgent: 'architect', toAgent: 'builder', subject, body: 'Go' },
    { clock: { now: () => T0 } },
  )
  const lease = {
    recipient: 'builder',
    attempt: 1,
    maxAttempts: 3,
    leaseUntil: new Date(T0 + 60_000).toISOString(),
    receipt,
  }
  // Spliced in as text: a 3,000-level value is sent the way a relay holding one in its database sends it.
  return JSON.stringify({ message: { ...message, metadata: 'META' }, lease }).replace('"META"', metadata)
}

/** `levels` objects nested in each other, as JSON text. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`

/**
 * The deliveries of one claim: two ordinary ones around a poison message 3,000 levels deep, and one whose
 * lease is missing (the message id alone is readable).
 */
const BATCH = [
  deliveryText('first', 'r1'),
  deliveryText('poison', 'r2', `{"deep":${nestedText(3_000)}}`),
  deliveryText('second', 'r3'),
  JSON.stringify({ message: { id: 'msg_nolease' } }),
]

interface Recorded {
  url: string
  body: string
}

/** A stand-in for a relay that hands out {@link BATCH}: as a claim response, or as server-sent events. */
async function relayWithPoison() {
  const requests: Recorded[] = []
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = ''
    request.on('data', (chunk) => {
      body += chunk
    })
    request.on('end', () => {
      requests.push({ url: request.url ?? '', body })
      if (request.url?.endsWith('/claim')) {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(`{"messages":[${BATCH.join(',')}]}`)
      } else if (request.url?.includes('/stream')) {
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        for (const [i, data] of BATCH.entries()) response.write(`id: ${i}\nevent: message\ndata: ${data}\n\n`)
        response.end('id: msg_garbled\nevent: message\ndata: {"message": {"id": "msg_garbled"\n\n')
      } else {
        const id = /messages\/([^/]+)\/nack$/.exec(request.url ?? '')?.[1] ?? '?'
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(
          JSON.stringify({
            messageId: id,
            recipient: 'builder',
            status: 'failed',
            attempt: 1,
            maxAttempts: 3,
          }),
        )
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  onCleanup(() => server.closeAllConnections())
  const logged: { level: string; message: string; fields: Record<string, unknown> }[] = []
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
    logged.push({ level, message, fields })
  }
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  const client = new RelayClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secretFor: () => 'builder-secret-0000000000',
    clock: new ManualClock(T0),
    logger,
  })
  onCleanup(() => client.close())
  const nacks = () =>
    requests
      .filter((r) => r.url.endsWith('/nack'))
      .map((r) => ({ url: r.url, ...(JSON.parse(r.body) as { receipt?: string; reason?: string }) }))
  return { client, requests, nacks, logged }
}

const subjects = (claimed: ClaimedMessage[]) => claimed.map((c) => c.message.subject)

describe('a claimed delivery the client cannot read', () => {
  it('is dead-lettered alone and reported, and the claim returns the others', async () => {
    const { client, nacks, logged } = await relayWithPoison()
    expect(subjects(await client.claim('builder', { limit: 4 }))).toEqual(['first', 'second'])
    expect(nacks()).toEqual([
      {
        url: '/api/v1/agents/builder/messages/msg_poison/nack',
        deadLetter: true,
        receipt: 'r2',
        reason: expect.stringMatching(
          /cannot read this message: .*metadata: is nested more than 64 levels deep/,
        ),
      },
      {
        url: '/api/v1/agents/builder/messages/msg_nolease/nack',
        deadLetter: true,
        reason: expect.stringMatching(/lease: /),
      },
    ])
    expect(logged.map((l) => [l.level, l.fields.messageId])).toEqual([
      ['warn', 'msg_poison'],
      ['warn', 'msg_nolease'],
    ])
  })

  it('does not fail a long poll, nor claims made together', async () => {
    const { client, nacks } = await relayWithPoison()
    expect(subjects(await client.claim('builder', { limit: 4, waitMs: 1_000 }))).toEqual(['first', 'second'])
    const [one, two] = await Promise.all([
      client.claim('builder', { limit: 1 }),
      client.claim('builder', { limit: 3 }),
    ])
    // Both went as one claim of 4; the two readable messages are shared out in claim order.
    expect([subjects(one), subjects(two)]).toEqual([['first'], ['second']])
    expect(nacks()).toHaveLength(4)
  })

  it('is dead-lettered alone from an event stream, which goes on', async () => {
    const { client, nacks, logged } = await relayWithPoison()
    const streamed: ClaimedMessage[] = []
    for await (const claimed of client.stream('builder')) streamed.push(claimed)
    expect(subjects(streamed)).toEqual(['first', 'second'])
    expect(nacks().map((n) => [n.url.split('/')[6], n.receipt])).toEqual([
      ['msg_poison', 'r2'],
      ['msg_nolease', undefined],
      // Not even JSON: the event's id names the message.
      ['msg_garbled', undefined],
    ])
    expect(logged.at(-1)?.fields.reason).toMatch(/not valid JSON/)
  })
})
