import { ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { TOOL_NAMES } from '../src/index.js'
import { type Claimed, call, connect, fails, ok, openCoordinator, textOf } from './helpers.js'

async function setup(clock?: ManualClock) {
  const coordinator = await openCoordinator(clock)
  const client = await connect(coordinator)
  await ok(client, 'comm_register_agent', { agent_id: 'architect', capabilities: ['plan'] })
  await ok(client, 'comm_register_agent', { agent_id: 'builder', capabilities: ['code', 'review'] })
  return { coordinator, client }
}

describe('comm_register_agent', () => {
  it('registers an agent and updates it when registered again', async () => {
    const { client } = await setup()
    const first = await ok<{ agent: { agentId: string; capabilities: string[]; device: string } }>(
      client,
      'comm_register_agent',
      { agent_id: 'reviewer', capabilities: ['review'], device: 'laptop', metadata: { model: 'x' } },
    )
    expect(first.agent).toMatchObject({ agentId: 'reviewer', capabilities: ['review'], device: 'laptop' })
    const again = await ok<{ agent: { capabilities: string[] } }>(client, 'comm_register_agent', {
      agent_id: 'reviewer',
      capabilities: ['review', 'test'],
    })
    expect(again.agent.capabilities).toEqual(['review', 'test'])
  })

  it('names the missing parameter when an http agent has no relay_url', async () => {
    const { client } = await setup()
    const error = await fails(client, 'comm_register_agent', { agent_id: 'remote', transport: 'http' })
    expect(error).toMatch(/^VALIDATION: /)
    expect(error).toContain('relay_url')
  })

  it('refuses a malformed agent id with the allowed characters', async () => {
    const { client } = await setup()
    const error = await fails(client, 'comm_register_agent', { agent_id: 'no spaces', capabilities: [] })
    expect(error).toContain('agent_id')
    expect(error).toContain('letters, digits')
  })
})

describe('comm_discover_agents', () => {
  it('lists agents, filtered by capability', async () => {
    const { client } = await setup()
    const all = await ok<{ count: number }>(client, 'comm_discover_agents')
    expect(all.count).toBe(2)
    const reviewers = await ok<{ agents: { agentId: string }[] }>(client, 'comm_discover_agents', {
      capability: 'review',
    })
    expect(reviewers.agents.map((a) => a.agentId)).toEqual(['builder'])
  })

  it('refuses an unknown status', async () => {
    const { client } = await setup()
    expect(await fails(client, 'comm_discover_agents', { status: 'asleep' })).toContain('status')
  })
})

describe('comm_deregister', () => {
  it('removes an agent', async () => {
    const { client } = await setup()
    expect(await ok(client, 'comm_deregister', { agent_id: 'builder' })).toEqual({
      agentId: 'builder',
      removed: true,
    })
    expect((await ok<{ count: number }>(client, 'comm_discover_agents')).count).toBe(1)
  })

  it('says how to register an unknown agent', async () => {
    const { client } = await setup()
    const error = await fails(client, 'comm_deregister', { agent_id: 'ghost' })
    expect(error).toMatch(/^AGENT_NOT_FOUND: Agent 'ghost' not registered/)
    expect(error).toContain("comm_register_agent (agent_id: 'ghost'")
  })
})

describe('comm_heartbeat', () => {
  it('marks an agent active', async () => {
    const { client } = await setup()
    const result = await ok<{ agent: { agentId: string; status: string } }>(client, 'comm_heartbeat', {
      agent_id: 'builder',
    })
    expect(result.agent).toMatchObject({ agentId: 'builder', status: 'active' })
  })

  it('fails for an unknown agent with the register hint', async () => {
    const { client } = await setup()
    expect(await fails(client, 'comm_heartbeat', { agent_id: 'ghost' })).toContain('comm_register_agent')
  })
})

describe('comm_send', () => {
  it('sends a message with a payload and reports its ids', async () => {
    const { client, coordinator } = await setup()
    const sent = await ok<{
      messageId: string
      conversationId: string
      recipients: string[]
    }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      subject: 'Build it',
      body: 'Implement the parser',
      priority: 'urgent',
      payload_type: 'task_assignment',
      payload_data: { task: 'parser', files: ['a.ts'] },
    })
    expect(sent.messageId).toMatch(/^msg_/)
    expect(sent.conversationId).toMatch(/^conv_/)
    expect(sent.recipients).toEqual(['builder'])
    const { message } = await coordinator.status(sent.messageId)
    expect(message.priority).toBe('critical')
    expect(message.payload).toEqual({
      type: 'task_assignment',
      data: { task: 'parser', files: ['a.ts'] },
    })
    const text = textOf(await call(client, 'comm_message_status', { message_id: sent.messageId }))
    expect(text).toContain('builder: queued')
  })

  it('fans a capability address out to every holder but the sender', async () => {
    const { client } = await setup()
    await ok(client, 'comm_register_agent', { agent_id: 'reviewer', capabilities: ['review'] })
    const sent = await ok<{ recipients: string[] }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'capability:review',
      body: 'Please review',
    })
    expect(sent.recipients.sort()).toEqual(['builder', 'reviewer'])
  })

  it('holds a capability message nobody has yet with queue_for_future_recipients', async () => {
    const { client } = await setup()
    await fails(client, 'comm_send', { from_agent: 'architect', to_agent: 'capability:audit', body: 'x' })
    const sent = await ok<{ messageId: string; deliveries: number }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'capability:audit',
      body: 'Audit auth',
      queue_for_future_recipients: true,
    })
    expect(sent.deliveries).toBe(0)
    await ok(client, 'comm_register_agent', { agent_id: 'auditor', capabilities: ['audit'] })
    const polled = await ok<{ messages: { message: { id: string } }[] }>(client, 'comm_poll', {
      agent_id: 'auditor',
    })
    expect(polled.messages.map((m) => m.message.id)).toEqual([sent.messageId])
  })

  it('joins the conversation of reply_to', async () => {
    const { client, coordinator } = await setup()
    const first = await ok<{ messageId: string; conversationId: string }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      subject: 'Plan',
      body: 'first',
    })
    const second = await ok<{ conversationId: string; messageId: string }>(client, 'comm_send', {
      from_agent: 'builder',
      to_agent: 'architect',
      body: 'second',
      reply_to: first.messageId,
    })
    expect(second.conversationId).toBe(first.conversationId)
    const { message } = await coordinator.status(second.messageId)
    expect(message.subject).toBe('Re: Plan')
    expect(message.routing.replyTo).toBe(first.messageId)
  })

  it('refuses an unregistered recipient with how to fix it', async () => {
    const { client } = await setup()
    const error = await fails(client, 'comm_send', { from_agent: 'architect', to_agent: 'ghost', body: 'hi' })
    expect(error).toMatch(/^AGENT_NOT_FOUND/)
    expect(error).toContain('comm_discover_agents')
  })

  it('refuses payload_data without payload_type', async () => {
    const { client } = await setup()
    const error = await fails(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'hi',
      payload_data: { x: 1 },
    })
    expect(error).toContain('payload_type')
  })

  it('names the parameter of a library validation error', async () => {
    const { client } = await setup()
    const error = await fails(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'hi',
      subject: 'x'.repeat(2000),
    })
    expect(error).toBe(
      'VALIDATION: Invalid message: subject: must be at most 1024 bytes\nFix the arguments named above and call the tool again.',
    )
  })
})

describe('comm_reply', () => {
  it('answers the sender in the same conversation', async () => {
    const { client, coordinator } = await setup()
    const sent = await ok<{ messageId: string; conversationId: string }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      subject: 'Task',
      body: 'do it',
    })
    const reply = await ok<{ messageId: string; conversationId: string }>(client, 'comm_reply', {
      message_id: sent.messageId,
      body: 'done',
    })
    expect(reply.conversationId).toBe(sent.conversationId)
    expect((await coordinator.status(reply.messageId)).message).toMatchObject({
      fromAgent: 'builder',
      toAgent: 'architect',
      subject: 'Re: Task',
    })
  })

  it('says how to find a message it does not know', async () => {
    const { client } = await setup()
    const error = await fails(client, 'comm_reply', { message_id: 'msg_unknown', body: 'hi' })
    expect(error).toMatch(/^MESSAGE_NOT_FOUND: Message 'msg_unknown' not found/)
    expect(error).toContain('comm_search')
  })
})

describe('comm_poll', () => {
  it('claims waiting messages up to the limit, most urgent first, with receipts', async () => {
    const { client } = await setup()
    for (const priority of ['low', 'high', 'normal']) {
      await ok(client, 'comm_send', {
        from_agent: 'architect',
        to_agent: 'builder',
        body: priority,
        priority,
      })
    }
    const first = await call(client, 'comm_poll', { agent_id: 'builder', limit: 2 })
    const polled = first.structuredContent as { count: number; messages: Claimed[] }
    expect(polled.count).toBe(2)
    expect(polled.messages.map((m) => m.message.body)).toEqual(['high', 'normal'])
    expect(polled.messages[0]!.lease.receipt).toBeTruthy()
    expect(textOf(first)).toContain(`receipt: ${polled.messages[0]!.lease.receipt}`)
    expect(textOf(first)).toContain('comm_ack')
    const rest = await ok<{ messages: Claimed[] }>(client, 'comm_poll', { agent_id: 'builder' })
    expect(rest.messages.map((m) => m.message.body)).toEqual(['low'])
    const none = await call(client, 'comm_poll', { agent_id: 'builder' })
    expect(none.structuredContent).toEqual({ agentId: 'builder', count: 0, messages: [] })
    expect(textOf(none)).toContain('wait_seconds')
  })

  it('refuses a limit outside 1-100', async () => {
    const { client } = await setup()
    expect(await fails(client, 'comm_poll', { agent_id: 'builder', limit: 0 })).toContain('limit')
    expect(await fails(client, 'comm_poll', { agent_id: 'builder', limit: 101 })).toContain('limit')
    expect(await fails(client, 'comm_poll', { agent_id: 'builder', wait_seconds: 3601 })).toContain(
      'wait_seconds',
    )
  })

  it("names one ceiling for a limit far past it, not the library's as well", async () => {
    const { client } = await setup()
    const error = await fails(client, 'comm_poll', { agent_id: 'builder', limit: 100_000 })
    expect(error).toContain('limit: must be at most 100')
    expect(error).not.toContain('1000')
  })

  it('tells an unregistered agent to register', async () => {
    const { client } = await setup()
    expect(await fails(client, 'comm_poll', { agent_id: 'ghost' })).toContain('comm_register_agent')
  })
})

describe('comm_ack', () => {
  it('acknowledges a claimed message, and again harmlessly', async () => {
    const { client } = await setup()
    const sent = await ok<{ messageId: string }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'x',
    })
    const polled = await ok<{ messages: Claimed[] }>(client, 'comm_poll', { agent_id: 'builder' })
    const receipt = polled.messages[0]!.lease.receipt
    const acked = await ok(client, 'comm_ack', { message_id: sent.messageId, agent_id: 'builder', receipt })
    expect(acked).toEqual({
      messageId: sent.messageId,
      recipient: 'builder',
      status: 'acked',
      alreadyAcked: false,
    })
    const again = await ok(client, 'comm_ack', { message_id: sent.messageId, agent_id: 'builder', receipt })
    expect(again).toMatchObject({ alreadyAcked: true })
  })

  it('says to poll first when the message was never claimed', async () => {
    const { client } = await setup()
    const sent = await ok<{ messageId: string }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'x',
    })
    const error = await fails(client, 'comm_ack', { message_id: sent.messageId, agent_id: 'builder' })
    expect(error).toMatch(/^INVALID_STATE: /)
    expect(error).toContain('Claim it first with comm_poll')
  })

  it('reports a wrong receipt on a live lease as a wrong receipt, not as a lost lease', async () => {
    const { client } = await setup()
    const sent = await ok<{ messageId: string }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'x',
    })
    await ok(client, 'comm_poll', { agent_id: 'builder' })
    const error = await fails(client, 'comm_ack', {
      message_id: sent.messageId,
      agent_id: 'builder',
      receipt: 'not-the-receipt',
    })
    expect(error).toMatch(/^INVALID_STATE: Wrong receipt for message/)
    expect(error).toContain('the lease is still yours')
  })
})

describe('comm_nack', () => {
  it('requeues a message with the reason, or dead-letters it', async () => {
    const { client } = await setup()
    const sent = await ok<{ messageId: string }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'x',
    })
    await ok(client, 'comm_poll', { agent_id: 'builder' })
    const requeued = await ok(client, 'comm_nack', {
      message_id: sent.messageId,
      agent_id: 'builder',
      reason: 'busy',
    })
    expect(requeued).toMatchObject({ status: 'queued', attempt: 1 })
    await ok(client, 'comm_poll', { agent_id: 'builder' })
    const failed = await ok(client, 'comm_nack', {
      message_id: sent.messageId,
      agent_id: 'builder',
      reason: 'cannot parse the task',
      dead_letter: true,
    })
    expect(failed).toMatchObject({ status: 'failed' })
    const status = textOf(await call(client, 'comm_message_status', { message_id: sent.messageId }))
    expect(status).toContain('builder: failed')
    expect(status).toContain('last error: cannot parse the task')
  })

  it('requires a reason', async () => {
    const { client } = await setup()
    expect(await fails(client, 'comm_nack', { message_id: 'msg_x', agent_id: 'builder' })).toContain('reason')
  })
})

describe('comm_message_status', () => {
  it('shows the message and each delivery', async () => {
    const { client } = await setup()
    const sent = await ok<{ messageId: string }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'x',
    })
    const status = await ok<{ message: { id: string }; deliveries: { recipient: string; status: string }[] }>(
      client,
      'comm_message_status',
      { message_id: sent.messageId },
    )
    expect(status.message.id).toBe(sent.messageId)
    expect(status.deliveries).toEqual([expect.objectContaining({ recipient: 'builder', status: 'queued' })])
  })

  it('fails for an unknown id', async () => {
    const { client } = await setup()
    expect(await fails(client, 'comm_message_status', { message_id: 'msg_nope' })).toMatch(
      /^MESSAGE_NOT_FOUND/,
    )
  })
})

describe('comm_get_conversation, comm_list_conversations and comm_search', () => {
  it('reads a thread by conversation id or by any of its messages, lists threads and searches', async () => {
    const { client } = await setup()
    const sent = await ok<{ messageId: string; conversationId: string }>(client, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      subject: 'Parser',
      body: 'write the tokenizer',
    })
    await ok(client, 'comm_reply', { message_id: sent.messageId, body: 'tokenizer written' })
    const byId = await ok<{ count: number; messages: { body: string }[] }>(client, 'comm_get_conversation', {
      conversation_id: sent.conversationId,
    })
    expect(byId.messages.map((m) => m.body)).toEqual(['write the tokenizer', 'tokenizer written'])
    const byMessage = await ok(client, 'comm_get_conversation', { message_id: sent.messageId })
    expect(byMessage).toEqual(byId)

    const listed = await ok<{
      conversations: { conversationId: string; messageCount: number; participants: string[] }[]
    }>(client, 'comm_list_conversations', { agent_id: 'builder' })
    expect(listed.conversations).toEqual([
      expect.objectContaining({
        conversationId: sent.conversationId,
        messageCount: 2,
        participants: ['architect', 'builder'],
      }),
    ])

    const found = await ok<{ messages: { body: string }[] }>(client, 'comm_search', {
      text: 'tokenizer written',
    })
    expect(found.messages.map((m) => m.body)).toEqual(['tokenizer written'])
    const fromArchitect = await ok<{ count: number }>(client, 'comm_search', { from_agent: 'architect' })
    expect(fromArchitect.count).toBe(1)
  })

  it('asks for exactly one of conversation_id and message_id', async () => {
    const { client } = await setup()
    expect(await fails(client, 'comm_get_conversation', {})).toContain(
      'give exactly one of conversation_id and message_id',
    )
  })

  it('refuses a bad limit or time', async () => {
    const { client } = await setup()
    expect(await fails(client, 'comm_list_conversations', { limit: 0 })).toContain('limit')
    expect(await fails(client, 'comm_search', { since: 'yesterday' })).toContain('since')
  })
})

describe('comm_spool_stats and comm_cleanup', () => {
  it('reports queue figures', async () => {
    const { client } = await setup()
    await ok(client, 'comm_send', { from_agent: 'architect', to_agent: 'builder', body: 'x' })
    const stats = await ok<{
      totalMessages: number
      deliveries: Record<string, number>
      agents: Record<string, { queued: number }>
      registeredAgents: { active: number }
    }>(client, 'comm_spool_stats')
    expect(stats.totalMessages).toBe(1)
    expect(stats.deliveries.queued).toBe(1)
    expect(stats.agents.builder?.queued).toBe(1)
    expect(stats.registeredAgents.active).toBe(2)
  })

  it('turns a failure of the store into a tool error, not a crash', async () => {
    const { coordinator, client } = await setup()
    await coordinator.close()
    expect(await fails(client, 'comm_spool_stats')).toMatch(/^CLOSED: /)
    // The server still answers.
    expect((await client.listTools()).tools).toHaveLength(TOOL_NAMES.length - 2)
  })

  it('counts expired messages on a dry run and removes them otherwise', async () => {
    const clock = new ManualClock(Date.now())
    const { client } = await setup(clock)
    await ok(client, 'comm_send', { from_agent: 'architect', to_agent: 'builder', body: 'x', ttl_hours: 1 })
    clock.advance(2 * 3_600_000)
    const dry = await ok(client, 'comm_cleanup', { dry_run: true })
    expect(dry).toMatchObject({ dryRun: true, expiredMessages: 1 })
    const done = await ok(client, 'comm_cleanup', {})
    expect(done).toMatchObject({ dryRun: false, expiredMessages: 1 })
    expect((await ok<{ totalMessages: number }>(client, 'comm_spool_stats')).totalMessages).toBe(0)
  })

  it('refuses a negative age', async () => {
    const { client } = await setup()
    expect(await fails(client, 'comm_cleanup', { acked_older_than_hours: -1 })).toContain(
      'acked_older_than_hours',
    )
  })
})
