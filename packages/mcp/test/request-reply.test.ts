import { describe, expect, it } from 'vitest'
import { connect, ok, openCoordinator } from './helpers.js'

async function setup() {
  const coordinator = await openCoordinator()
  const client = await connect(coordinator)
  await ok(client, 'comm_register_agent', { agent_id: 'architect' })
  await ok(client, 'comm_register_agent', { agent_id: 'builder' })
  return { coordinator, client }
}

describe('comm_request / comm_await_reply', () => {
  it('sends and returns the reply, acked', async () => {
    const { coordinator, client } = await setup()
    const answering = (async () => {
      const [task] = await coordinator.poll('builder', { waitMs: 30_000 })
      await coordinator.reply(task!, { body: `answer to ${task!.message.body}` })
      await coordinator.ack(task!)
    })()
    const result = await ok<{ requestId: string; replied: boolean; reply: { body: string; id: string } }>(
      client,
      'comm_request',
      { from_agent: 'architect', to_agent: 'builder', body: 'the question', wait_seconds: 30 },
    )
    await answering
    expect(result).toMatchObject({ replied: true, reply: { body: 'answer to the question' } })
    expect((await coordinator.status(result.reply.id)).deliveries[0]?.status).toBe('acked')
  })

  it('returns the request id when no reply came in time, and comm_await_reply waits again', async () => {
    const { coordinator, client } = await setup()
    const first = await ok<{ requestId: string; replied: boolean }>(client, 'comm_request', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'slow question',
      wait_seconds: 0,
    })
    expect(first.replied).toBe(false)
    const [task] = await coordinator.poll('builder')
    expect(task?.message.id).toBe(first.requestId)
    await coordinator.reply(task!, { body: 'slow answer' })
    const again = await ok<{ replied: boolean; reply: { body: string } }>(client, 'comm_await_reply', {
      request_id: first.requestId,
      wait_seconds: 5,
    })
    expect(again).toMatchObject({ replied: true, reply: { body: 'slow answer' } })
  })

  it("in a bound session, refuses to await the reply to another agent's request", async () => {
    const { coordinator } = await setup()
    const architect = await connect(coordinator, { agent: 'architect' })
    const builder = await connect(coordinator, { agent: 'builder' })
    const mine = await ok<{ requestId: string }>(architect, 'comm_request', {
      to_agent: 'builder',
      body: 'a question',
      wait_seconds: 0,
    })
    const result = await builder.callTool({
      name: 'comm_await_reply',
      arguments: { request_id: mine.requestId, wait_seconds: 0 },
    })
    expect(result.isError).toBe(true)
    const text = (result.content as { text: string }[])[0]!.text
    expect(text).toMatch(
      new RegExp(
        `^FORBIDDEN: This session acts as 'builder': request '${mine.requestId}' was sent by 'architect'`,
      ),
    )
    expect(text).toContain('comm_get_conversation')
    expect(result._meta?.['agent-comm/error']).toMatchObject({ code: 'FORBIDDEN' })
    // The requester itself may wait for it; an operator-started session may too.
    const own = await ok<{ replied: boolean }>(architect, 'comm_await_reply', {
      request_id: mine.requestId,
      wait_seconds: 0,
    })
    expect(own.replied).toBe(false)
    const operator = await connect(coordinator, { agent: 'builder', allowOtherAgents: true })
    expect(
      (
        await ok<{ replied: boolean }>(operator, 'comm_await_reply', {
          request_id: mine.requestId,
          wait_seconds: 0,
        })
      ).replied,
    ).toBe(false)
  })

  it('comm_send with an idempotency_key sends once', async () => {
    const { client } = await setup()
    const args = { from_agent: 'architect', to_agent: 'builder', body: 'once', idempotency_key: 'k-1' }
    const a = await ok<{ messageId: string; duplicate: boolean }>(client, 'comm_send', args)
    const b = await ok<{ messageId: string; duplicate: boolean }>(client, 'comm_send', args)
    expect(b).toMatchObject({ messageId: a.messageId, duplicate: true })
  })
})
