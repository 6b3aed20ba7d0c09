import { ClosedError, type ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { createCoordinator, loadConfig } from '../src/index.js'
import { onCleanup, openCoordinator } from './helpers.js'

/** A coordinator with `count` messages m0, m1, … queued for 'builder'. */
async function withQueue(count: number) {
  const opened = await openCoordinator()
  await opened.coord.register({ agentId: 'builder' })
  for (let i = 0; i < count; i++)
    await opened.coord.send(
      { fromAgent: 'x', toAgent: 'builder', body: `m${i}` },
      { allowUnregistered: true },
    )
  return opened
}

/** A second coordinator on the same project: looks at the store after the first one closed. */
async function reopen(root: string, clock: ManualClock) {
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: root }), { clock })
  onCleanup(() => coord.close())
  return coord
}

describe('coordinator.messages()', () => {
  it('yields messages as they arrive until aborted', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    const controller = new AbortController()
    const seen: string[] = []
    const consumer = (async () => {
      for await (const msg of coord.messages('builder', { signal: controller.signal })) {
        seen.push(msg.message.body)
        await coord.ack(msg)
        if (seen.length === 3) controller.abort()
      }
    })()
    for (const body of ['one', 'two', 'three']) {
      await coord.send({ fromAgent: 'architect', toAgent: 'builder', body })
    }
    await consumer
    expect(seen).toEqual(['one', 'two', 'three'])
    expect((await coord.stats()).deliveries.acked).toBe(3)
  })

  it('hands back messages it claimed but never yielded when the consumer stops early', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    for (const body of ['a', 'b', 'c'])
      await coord.send({ fromAgent: 'x', toAgent: 'builder', body }, { allowUnregistered: true })
    for await (const msg of coord.messages('builder', { limit: 3 })) {
      await coord.ack(msg)
      break
    }
    const stats = await coord.stats()
    expect(stats.deliveries).toMatchObject({ acked: 1, queued: 2, leased: 0 })
    expect((await coord.poll('builder', { limit: 5 })).map((c) => c.message.body)).toEqual(['b', 'c'])
  })

  for (const autoAck of [false, true]) {
    it(`yields nothing more of a claimed batch once the signal aborts, and hands the rest back (autoAck ${autoAck})`, async () => {
      const { coord } = await withQueue(10)
      const stop = new AbortController()
      const seen: string[] = []
      for await (const msg of coord.messages('builder', { signal: stop.signal, limit: 5, autoAck })) {
        seen.push(msg.message.body)
        if (!autoAck) await coord.ack(msg)
        stop.abort() // a Ctrl-C while the first message is handled
      }
      expect(seen).toEqual(['m0'])
      expect((await coord.stats()).deliveries).toMatchObject({ acked: 1, queued: 9, leased: 0 })
      // Handed back with the attempt their claim counted given back.
      const next = await coord.poll('builder', { limit: 9 })
      expect(next.map((c) => c.lease.attempt)).toEqual(Array(9).fill(1))
    })
  }

  it('yields nothing more once the coordinator is closed, and hands the rest back before it closes', async () => {
    const { coord, clock, root } = await withQueue(5)
    const seen: string[] = []
    for await (const msg of coord.messages('builder', { limit: 5 })) {
      seen.push(msg.message.body)
      await coord.ack(msg)
      await coord.close() // a shutdown hook
    }
    expect(seen).toEqual(['m0'])
    const after = await reopen(root, clock)
    expect((await after.stats()).deliveries).toMatchObject({ acked: 1, queued: 4, leased: 0 })
    const next = await after.poll('builder', { limit: 5 })
    expect(next.map((c) => [c.message.body, c.lease.attempt])).toEqual([
      ['m1', 1],
      ['m2', 1],
      ['m3', 1],
      ['m4', 1],
    ])
  })

  it('with autoAck, acks the messages it finished and hands back the rest when the coordinator closes', async () => {
    const { coord, clock, root } = await withQueue(5)
    const seen: string[] = []
    for await (const msg of coord.messages('builder', { limit: 5, autoAck: true })) {
      seen.push(msg.message.body)
      if (seen.length === 3) {
        await coord.ack(msg) // the body finishes its own message before shutting down
        await coord.close()
      }
    }
    expect(seen).toEqual(['m0', 'm1', 'm2'])
    const after = await reopen(root, clock)
    expect((await after.stats()).deliveries).toMatchObject({ acked: 3, queued: 2, leased: 0 })
  })

  it('fails with CLOSED when started on a closed coordinator', async () => {
    const { coord } = await withQueue(1)
    await coord.close()
    const loop = coord.messages('builder')[Symbol.asyncIterator]()
    await expect(loop.next()).rejects.toBeInstanceOf(ClosedError)
  })

  it('long-polls: poll with waitMs returns as soon as a message is sent', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    // An hour's wait, far beyond the test's timeout: a poll that answers at all was woken by the send, with
    // no assertion on how fast a busy machine managed it.
    const polling = coord.poll('builder', { waitMs: 3_600_000 })
    setTimeout(() => void coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'now' }), 20)
    expect((await polling).map((c) => c.message.body)).toEqual(['now'])
  })
})

describe('presence', () => {
  it('refreshes an agent’s lastSeen when it sends, polls or acks', async () => {
    const { coord, clock } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    clock.advance(10 * 60_000)
    expect((await coord.agent('builder'))?.status).toBe('inactive')
    await coord.poll('builder')
    expect((await coord.agent('builder'))?.status).toBe('active')
    expect((await coord.agent('architect'))?.status).toBe('inactive')
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    expect((await coord.agent('architect'))?.status).toBe('active')
  })
})
