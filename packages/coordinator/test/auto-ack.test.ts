import { describe, expect, it } from 'vitest'
import { openCoordinator } from './helpers.js'

describe('coordinator.messages() with autoAck (settle-and-claim)', () => {
  it('acks each message when the loop asks for the next, and the last one when the loop ends', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    const sent: string[] = []
    for (const body of ['one', 'two', 'three']) {
      sent.push((await coord.send({ fromAgent: 'architect', toAgent: 'builder', body })).messageId)
    }
    const controller = new AbortController()
    const seen: string[] = []
    for await (const msg of coord.messages('builder', { signal: controller.signal, autoAck: true })) {
      seen.push(msg.message.body)
      // Everything yielded before this message is acked by now; this one is leased.
      expect((await coord.stats()).deliveries).toMatchObject({ acked: seen.length - 1, leased: 1 })
      if (seen.length === 3) controller.abort()
    }
    expect(seen).toEqual(['one', 'two', 'three'])
    expect((await coord.stats()).deliveries).toMatchObject({ acked: 3, leased: 0, queued: 0 })
  })

  it('leaves alone a message the body settled itself, and does not ack one the body broke out of', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    for (const body of ['retry me', 'stop here']) {
      await coord.send({ fromAgent: 'architect', toAgent: 'builder', body })
    }
    for await (const msg of coord.messages('builder', { autoAck: true })) {
      if (msg.message.body === 'retry me') {
        await coord.nack(msg, undefined, { reason: 'not now', delaySeconds: 3600 })
        continue
      }
      break
    }
    const stats = await coord.stats()
    expect(stats.deliveries).toMatchObject({ acked: 0, leased: 1, queued: 1 })
  })

  it('acks a whole batch with the next claim when it claims several at a time', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    for (let i = 0; i < 5; i++) await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: `${i}` })
    const controller = new AbortController()
    let seen = 0
    for await (const _ of coord.messages('builder', { limit: 2, signal: controller.signal, autoAck: true })) {
      if (++seen === 5) controller.abort()
    }
    expect((await coord.stats()).deliveries).toMatchObject({ acked: 5, leased: 0 })
  })
})
