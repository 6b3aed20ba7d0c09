import { Spool } from '@agent-comm/spool'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Claimed, call, connect, ok, openCoordinator, textOf } from './helpers.js'

describe('two assistants exchanging messages', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('registers both, sends a task, polls, replies, acks and reads the conversation', async () => {
    const coordinator = await openCoordinator()
    // Each assistant has its own MCP connection to the same spool, as two Claude sessions would.
    const alice = await connect(coordinator)
    const bob = await connect(coordinator)

    await ok(alice, 'comm_register_agent', { agent_id: 'architect', capabilities: ['plan'] })
    await ok(bob, 'comm_register_agent', { agent_id: 'builder', capabilities: ['code'] })

    const task = await ok<{ messageId: string; conversationId: string }>(alice, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      subject: 'Implement the tokenizer',
      body: 'Write src/tokenizer.ts with tests.',
      payload_type: 'task_assignment',
      payload_data: { files: ['src/tokenizer.ts'] },
    })

    const inbox = await ok<{ count: number; messages: Claimed[] }>(bob, 'comm_poll', { agent_id: 'builder' })
    expect(inbox.count).toBe(1)
    const [claimed] = inbox.messages
    expect(claimed!.message).toMatchObject({
      id: task.messageId,
      fromAgent: 'architect',
      subject: 'Implement the tokenizer',
    })

    const reply = await ok<{ messageId: string; conversationId: string }>(bob, 'comm_reply', {
      message_id: claimed!.message.id,
      body: 'Done: src/tokenizer.ts, 12 tests passing.',
      payload_type: 'task_result',
      payload_data: { ok: true },
    })
    expect(reply.conversationId).toBe(task.conversationId)
    await ok(bob, 'comm_ack', {
      message_id: claimed!.message.id,
      agent_id: 'builder',
      receipt: claimed!.lease.receipt,
    })

    const answers = await ok<{ messages: Claimed[] }>(alice, 'comm_poll', { agent_id: 'architect' })
    expect(answers.messages.map((m) => m.message.body)).toEqual(['Done: src/tokenizer.ts, 12 tests passing.'])
    expect(answers.messages[0]!.message.routing.replyTo).toBe(task.messageId)
    await ok(alice, 'comm_ack', {
      message_id: answers.messages[0]!.message.id,
      agent_id: 'architect',
      receipt: answers.messages[0]!.lease.receipt,
    })

    const thread = await call(alice, 'comm_get_conversation', { conversation_id: task.conversationId })
    const structured = thread.structuredContent as { count: number; messages: { fromAgent: string }[] }
    expect(structured.messages.map((m) => m.fromAgent)).toEqual(['architect', 'builder'])
    expect(textOf(thread)).toContain('Done: src/tokenizer.ts')

    const status = await ok<{ deliveries: { recipient: string; status: string }[] }>(
      alice,
      'comm_message_status',
      {
        message_id: task.messageId,
      },
    )
    expect(status.deliveries).toEqual([expect.objectContaining({ recipient: 'builder', status: 'acked' })])
  })

  it('returns a waiting comm_poll as soon as another client sends a message', async () => {
    const coordinator = await openCoordinator()
    const alice = await connect(coordinator)
    const bob = await connect(coordinator)
    await ok(alice, 'comm_register_agent', { agent_id: 'architect' })
    await ok(bob, 'comm_register_agent', { agent_id: 'builder' })

    // Sends only once the poll is waiting (its spool wait has begun), so the send has to wake it; the
    // longest wait the tool allows, so an answer with the message shows the wake, however slow the machine.
    const waits = vi.spyOn(Spool.prototype, 'waitForMessages')
    let returned = false
    const polling = call(bob, 'comm_poll', { agent_id: 'builder', wait_seconds: 60 }).then((result) => {
      returned = true
      return result
    })
    await vi.waitFor(() => expect(waits).toHaveBeenCalled(), { timeout: 120_000 })
    expect(returned).toBe(false)
    await ok(alice, 'comm_send', { from_agent: 'architect', to_agent: 'builder', body: 'wake up' })

    const result = await polling
    expect(result.isError).toBeFalsy()
    expect((result.structuredContent as { messages: Claimed[] }).messages[0]!.message.body).toBe('wake up')
  })

  it('ends a waiting comm_poll with nothing when the wait runs out', async () => {
    const coordinator = await openCoordinator()
    const bob = await connect(coordinator)
    await ok(bob, 'comm_register_agent', { agent_id: 'builder' })
    const result = await ok<{ count: number }>(bob, 'comm_poll', { agent_id: 'builder', wait_seconds: 0.2 })
    expect(result.count).toBe(0)
  })
})
