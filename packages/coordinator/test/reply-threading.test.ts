import { describe, expect, it } from 'vitest'
import { openCoordinator } from './helpers.js'

describe('replies', () => {
  it('keeps one conversation id across a three-message exchange', async () => {
    const { coord, clock } = await openCoordinator()
    await coord.register({ agentId: 'architect' })
    await coord.register({ agentId: 'builder' })
    const task = await coord.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Task: Auth',
      body: 'Build it',
    })
    clock.advance(1000)
    const [received] = await coord.poll('builder')
    const answer = await coord.reply(received!, { body: 'Done, PR #456' })
    await coord.ack(received!)
    clock.advance(1000)
    const [answerReceived] = await coord.poll('architect')
    const thanks = await coord.reply(answerReceived!, { body: 'Merged, thanks' })

    expect(answer.message).toMatchObject({
      fromAgent: 'builder',
      toAgent: 'architect',
      subject: 'Re: Task: Auth',
      routing: { replyTo: task.messageId, conversationId: task.message.routing.conversationId },
    })
    expect(thanks.message).toMatchObject({
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Re: Task: Auth',
      routing: { replyTo: answer.messageId, conversationId: task.message.routing.conversationId },
    })
    const thread = await coord.conversation(task.message.routing.conversationId)
    expect(thread.map((m) => m.body)).toEqual(['Build it', 'Done, PR #456', 'Merged, thanks'])
    const [summary] = await coord.conversations()
    expect(summary).toMatchObject({ messageCount: 3, participants: ['architect', 'builder'] })
  })

  it('replies by message id too, and asks who replies to a group message', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'ops' })
    await coord.register({ agentId: 'builder' })
    const notice = await coord.send({ fromAgent: 'ops', toAgent: '*', body: 'deploy at noon' })
    await expect(coord.reply(notice.messageId, { body: 'ok' })).rejects.toThrow(/say which agent replies/)
    const reply = await coord.reply(notice.messageId, { fromAgent: 'builder', body: 'ok' })
    expect(reply.message).toMatchObject({ toAgent: 'ops', routing: { replyTo: notice.messageId } })
  })
})
