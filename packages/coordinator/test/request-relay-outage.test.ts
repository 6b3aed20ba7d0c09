import { type AgentCommError, ManualClock, StorageError, type Transport } from '@agent-comm/protocol'
import { RelayError } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { fakeHttpTransport, openCoordinator } from './helpers.js'

/** The error the HTTP transport throws while the relay restarts (connection refused). */
function relayDown(): RelayError {
  return new RelayError(
    'STORAGE',
    'UNAVAILABLE',
    undefined,
    'Cannot reach the relay at http://b:8420: connect ECONNREFUSED',
    {
      hint: 'Check that the relay is running (agent-comm relay start) and that this URL and port are reachable.',
    },
  )
}

/** What a store on PostgreSQL throws while the server restarts: a transient StorageError. */
function databaseDown(): StorageError {
  return new StorageError(
    'PostgreSQL query failed at postgres://postgres@db:5432/agents: connect ECONNREFUSED',
    {
      hint: 'Check that PostgreSQL is running and accepts connections at postgres://postgres@db:5432/agents.',
      details: { reason: 'unreachable' },
      transient: true,
    },
  )
}

/** The fake relay transport, with a switch: while `down`, every call a wait makes fails as unreachable. */
async function restartingRelay(
  clock: ManualClock,
  outage: () => AgentCommError = relayDown,
): Promise<{ transport: Transport; down: { value: boolean } }> {
  const { transport } = await fakeHttpTransport(clock)
  const down = { value: false }
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      down.value ? Promise.reject(outage()) : call(...args)
  return {
    down,
    transport: {
      ...transport,
      status: guard(transport.status.bind(transport)),
      ack: guard(transport.ack.bind(transport)),
      claim: guard(transport.claim.bind(transport)),
      claimReply: guard(transport.claimReply!.bind(transport)),
    },
  }
}

async function setup(outage?: () => AgentCommError) {
  const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
  const relay = await restartingRelay(clock, outage)
  const { coord } = await openCoordinator({ clock, http: () => relay.transport })
  await coord.register({ agentId: 'builder' })
  await coord.register({ agentId: 'remote', transport: 'http', relayUrl: 'http://b:8420' })
  return { coord, down: relay.down }
}

const outages = [
  { what: 'relay', outage: relayDown, details: { relayCode: 'UNAVAILABLE' } },
  { what: 'database', outage: databaseDown, details: { reason: 'unreachable' } },
] as const

describe.each(outages)('a coordinator whose $what restarts', ({ what, outage, details }) => {
  it(`keeps waiting across a short ${what} outage and takes the reply`, async () => {
    const { coord, down } = await setup(outage)
    // The server goes down once the request is sent (sends are not guarded): the wait's first claim fails.
    down.value = true
    const waiting = coord.request(
      { fromAgent: 'remote', toAgent: 'builder', body: 'hi' },
      { timeoutMs: 20_000 },
    )
    const [task] = await coord.poll('builder', { waitMs: 10_000 })
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    down.value = false
    await coord.reply(task!, { body: 'answer after the restart' })
    expect((await waiting).body).toBe('answer after the restart')
  })

  it(`fails, when the ${what} stays down past the deadline, saying so, naming the request and how to wait again`, async () => {
    const { coord, down } = await setup(outage)
    down.value = true
    const waiting = coord.request(
      { fromAgent: 'remote', toAgent: 'builder', body: 'hi' },
      { timeoutMs: 1_500 },
    )
    const [task] = await coord.poll('builder', { waitMs: 10_000 })
    const error = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toMatchObject({
      code: 'STORAGE',
      message: expect.stringContaining(`request '${task!.message.id}' ended with the ${what} out of reach`),
      hint: expect.stringContaining(
        `once the ${what} is back, wait again with awaitReply('${task!.message.id}')`,
      ),
      details: { ...details, requestId: task!.message.id },
    })
  })

  it(`keeps a messages() loop running across a ${what} outage, and it yields what comes after`, async () => {
    const { coord, down } = await setup(outage)
    const stop = new AbortController()
    const seen: string[] = []
    const loop = (async () => {
      for await (const m of coord.messages('remote', { signal: stop.signal, autoAck: true })) {
        seen.push(m.message.body)
        if (m.message.body === 'after the outage') stop.abort()
      }
    })()
    await coord.send({ fromAgent: 'builder', toAgent: 'remote', body: 'before the outage' })
    await expect.poll(() => seen).toEqual(['before the outage'])
    down.value = true
    await coord.send({ fromAgent: 'builder', toAgent: 'remote', body: 'after the outage' })
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    down.value = false
    await loop
    expect(seen).toEqual(['before the outage', 'after the outage'])
  })
})
