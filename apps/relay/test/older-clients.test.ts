// Clients of earlier versions talking to this relay: what they send (recorded by test/fixtures/upgrade/clients/
// record.sh, one JSON line per request) must keep being accepted as it was, since teams upgrade relays first
// and their clients later (README: Upgrading).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { startTestRelay } from './helpers.js'

interface Recorded {
  method: 'GET' | 'POST'
  path: string
  /** The agent that signed the request. */
  as: string
  body?: { receipt?: string; message?: { id: string; timestamp: string } } & Record<string, unknown>
  status: number
}

const CLIENTS = ['round1-4ffc863', 'b8bb9d5']
const FOLDER = join(import.meta.dirname, 'fixtures', 'upgrade', 'clients')

function recorded(name: string): Recorded[] {
  return readFileSync(join(FOLDER, `${name}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Recorded)
}

describe.each(CLIENTS)('the requests of the client at %s', (name) => {
  it('are all accepted by this relay, each answered with the status it got when recorded', async () => {
    const requests = recorded(name)
    // The relay's clock at the client's: message timestamps far from the relay's time are refused.
    const sentAt = Date.parse(requests.find((r) => r.body?.message)?.body?.message?.timestamp ?? '')
    const relay = await startTestRelay({ agents: ['agent-a', 'agent-b'], clock: new ManualClock(sentAt) })
    // Receipts are this relay's, from its own answers to the recorded claims.
    const receipts = new Map<string, string>()
    for (const request of requests) {
      const messageId = /\/messages\/(msg_[^/]+)\/(?:ack|nack|extend)$/.exec(request.path)?.[1]
      const body =
        request.body?.receipt !== undefined && messageId !== undefined
          ? { ...request.body, receipt: receipts.get(messageId) }
          : request.body
      const answer = await relay.signed(request.as, request.method, request.path, body)
      expect(answer.statusCode, `${request.method} ${request.path}: ${answer.body}`).toBe(request.status)
      if (request.path.endsWith('/claim')) {
        const claimed = answer.json() as {
          messages: { message: { id: string }; lease: { receipt: string } }[]
        }
        for (const { message, lease } of claimed.messages) receipts.set(message.id, lease.receipt)
      }
    }
    // What they did holds: the acked message is acked, the dead-lettered one failed with its reason.
    const [acked, , , deadLettered] = requests
      .filter((r) => /\/(ack|nack|extend)$/.test(r.path))
      .map((r) => /\/messages\/(msg_[^/]+)\//.exec(r.path)?.[1] as string)
    expect((await relay.spool.status(acked!)).deliveries).toMatchObject([{ status: 'acked' }])
    expect((await relay.spool.status(deadLettered!)).deliveries).toMatchObject([
      { status: 'failed', lastError: 'broken' },
    ])
  })
})
