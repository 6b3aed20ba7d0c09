import type { Coordinator } from '@agent-comm/coordinator'
import { AgentCommError, StorageError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { type BridgeEvent, BridgeRunner, FunctionBridge } from '../src/index.js'
import { openCoordinator } from './helpers.js'

/** What the HTTP transport throws while the relay restarts: `relayCode: 'UNAVAILABLE'`. */
function relayDown(): AgentCommError {
  return new AgentCommError(
    'STORAGE',
    'Cannot reach the relay at http://127.0.0.1:8420: connect ECONNREFUSED',
    {
      details: { relayCode: 'UNAVAILABLE' },
    },
  )
}

/** The coordinator's calls a bridge makes, with its first `failures` polls failing with `error()`. */
function failingPolls(coord: Coordinator, failures: number, error: () => Error) {
  let left = failures
  return {
    poll: (...args: Parameters<Coordinator['poll']>) =>
      left-- > 0 ? Promise.reject(error()) : coord.poll(...args),
    nack: coord.nack.bind(coord),
    extendLease: coord.extendLease.bind(coord),
    reply: coord.reply.bind(coord),
    ack: coord.ack.bind(coord),
  }
}

/** Runs a bridge answering 'yes' until it acks a message; resolves with its summary and its events. */
async function runUntilAcked(coordinator: ReturnType<typeof failingPolls>) {
  const events: BridgeEvent[] = []
  const stop = new AbortController()
  const summary = await new BridgeRunner({
    coordinator,
    agent: 'builder',
    bridge: new FunctionBridge(() => 'yes'),
    intervalMs: 100,
    onEvent: (e) => {
      events.push(e)
      if (e.type === 'acked') stop.abort()
    },
  }).run({ signal: stop.signal })
  return { summary, events }
}

describe('a bridge whose relay restarts', () => {
  it('keeps polling with backoff and a warning, then answers once the relay is back', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'still there?' })
    const { summary, events } = await runUntilAcked(failingPolls(coord, 3, relayDown))
    expect(summary).toMatchObject({ processed: 1, succeeded: 1 })
    const warnings = events.filter((e) => e.type === 'unavailable')
    expect(warnings.map((e) => e.retryInMs)).toEqual([250, 500, 1_000])
    expect(warnings[0]).toMatchObject({ error: expect.stringContaining('Cannot reach the relay') })
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({ status: 'acked' })
  })

  it('stops at once when stopped during an outage, and a single run (once) still fails', async () => {
    const coord = await openCoordinator()
    const down = {
      poll: () => Promise.reject(relayDown()),
      nack: coord.nack.bind(coord),
      extendLease: coord.extendLease.bind(coord),
      reply: coord.reply.bind(coord),
      ack: coord.ack.bind(coord),
    }
    const bridge = new FunctionBridge(() => 'yes')
    await expect(
      new BridgeRunner({ coordinator: down, agent: 'builder', bridge }).run({ once: true }),
    ).rejects.toMatchObject({
      details: { relayCode: 'UNAVAILABLE' },
    })
    const stop = new AbortController()
    const running = new BridgeRunner({
      coordinator: down,
      agent: 'builder',
      bridge,
      onEvent: (e) => {
        if (e.type === 'unavailable' && e.retryInMs >= 1_000) stop.abort()
      },
    }).run({ signal: stop.signal })
    await expect(running).resolves.toMatchObject({ processed: 0 })
  })

  it('waits out a database unavailable for now (a transient StorageError), and ends on one that is not', async () => {
    const coord = await openCoordinator()
    const storageError = (transient: boolean) => () =>
      new StorageError('PostgreSQL query failed at postgres://db/agents: connect ECONNREFUSED', {
        details: { reason: transient ? 'unreachable' : 'permission-denied' },
        transient,
      })
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'after the restart' })
    const { summary, events } = await runUntilAcked(failingPolls(coord, 2, storageError(true)))
    expect(summary).toMatchObject({ processed: 1, succeeded: 1 })
    expect(events.filter((e) => e.type === 'unavailable').map((e) => e.retryInMs)).toEqual([250, 500])

    const broken = failingPolls(coord, Number.POSITIVE_INFINITY, storageError(false))
    await expect(
      new BridgeRunner({
        coordinator: broken,
        agent: 'builder',
        bridge: new FunctionBridge(() => 'yes'),
      }).run(),
    ).rejects.toMatchObject({ code: 'STORAGE', details: { reason: 'permission-denied' } })
  })
})
