import { describe, expect, it } from 'vitest'
import { openCoordinator } from './helpers.js'

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
