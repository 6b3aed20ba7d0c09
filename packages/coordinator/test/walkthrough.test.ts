import { describe, expect, it } from 'vitest'
import { openCoordinator } from './helpers.js'

// The Python API walk-through of the original guide ("Programmatic Send/Poll", "Conversation Threading"),
// step for step in TypeScript.
describe('the original guide’s Python API walk-through', () => {
  it('registers two agents, sends, polls, replies, acks and lists the conversation', async () => {
    const { coord } = await openCoordinator()
    await coord.register({
      agentId: 'architect',
      capabilities: ['design', 'review'],
      device: 'workstation',
    })
    await coord.register({ agentId: 'builder', capabilities: ['code', 'bash'], device: 'server' })
    expect((await coord.discover('code')).map((a) => a.agentId)).toEqual(['builder'])

    const { messageId } = await coord.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Task: Auth Module',
      body: 'Please implement user authentication...',
      priority: 'high',
    })

    const messages = await coord.poll('builder')
    expect(messages).toHaveLength(1)
    const original = messages[0]!
    expect(original.message).toMatchObject({
      id: messageId,
      fromAgent: 'architect',
      subject: 'Task: Auth Module',
    })

    const reply = await coord.reply(original, { body: 'Task complete. PR #456 ready for review.' })
    expect(await coord.ack(original)).toMatchObject({ status: 'acked' })

    const [answer] = await coord.poll('architect')
    expect(answer?.message.id).toBe(reply.messageId)
    await coord.ack(answer!)

    const thread = await coord.conversation(original.message.routing.conversationId)
    expect(thread.map((m) => `${m.fromAgent}: ${m.subject}`)).toEqual([
      'architect: Task: Auth Module',
      'builder: Re: Task: Auth Module',
    ])
    const stats = await coord.stats()
    expect(stats.deliveries).toMatchObject({ acked: 2, queued: 0, leased: 0 })
    expect(stats.registeredAgents).toEqual({ active: 2, inactive: 0, offline: 0 })
  })
})
