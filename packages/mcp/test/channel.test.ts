import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MailFeed } from '../src/index.js'
import { connect, openCoordinator } from './helpers.js'

const ChannelNotification = z.object({
  method: z.literal('notifications/claude/channel'),
  params: z.object({ content: z.string(), meta: z.record(z.string(), z.string()) }),
})
type Event = z.output<typeof ChannelNotification>['params']

describe('Claude Code channel', () => {
  it('declares the capability and announces a burst once, with a count, never re-announcing', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: [] })
    const feed = new MailFeed(coordinator)
    const client = await connect(coordinator, { agent: 'builder', channel: { intervalMs: 0 }, feed })
    expect(client.getServerCapabilities()?.experimental).toHaveProperty(['claude/channel'])
    const events: Event[] = []
    const waiters: (() => void)[] = []
    client.setNotificationHandler(ChannelNotification, (n) => {
      events.push(n.params)
      waiters.shift()?.()
    })
    const next = (): Promise<void> => new Promise((resolve) => waiters.push(resolve))
    // After this call the session has registered builder and its channel listens.
    await client.callTool({ name: 'comm_start_session', arguments: {} })

    // A burst of 50, then one wake: one notification that counts them.
    for (let i = 0; i < 50; i++) {
      await coordinator.send({
        fromAgent: 'architect',
        toAgent: 'builder',
        body: `secret body ${i}`,
        subject: `task ${i}`,
      })
    }
    let arrived = next()
    feed.notify()
    await arrived
    expect(events).toHaveLength(1)
    expect(events[0]!.meta).toMatchObject({
      agent: 'builder',
      count: '50',
      from: 'architect',
      priority: 'normal',
    })
    expect(events[0]!.content).toMatch(
      /^50 new agent-comm messages for builder; most urgent: normal from architect/,
    )
    expect(events[0]!.content).not.toContain('secret body')

    // A wake with nothing new announces nothing; the next message is announced alone.
    feed.notify()
    const one = await coordinator.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      body: 'b',
      subject: 'last',
      priority: 'high',
    })
    arrived = next()
    feed.notify()
    await arrived
    expect(events).toHaveLength(2)
    expect(events[1]!.meta).toMatchObject({ count: '1', message_id: one.messageId, priority: 'high' })
    expect(events[1]!.content).toContain(one.messageId)
  })

  it('needs a bound agent', async () => {
    const coordinator = await openCoordinator()
    await expect(connect(coordinator, { channel: true })).rejects.toThrow(/needs the agent/)
  })
})
