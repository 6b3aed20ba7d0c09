import { describe, expect, it } from 'vitest'
import { type Claimed, call, connect, ok, openCoordinator, textOf } from './helpers.js'

describe('output budgets', () => {
  it('keeps a 200-message thread within budget at the defaults, pages back with before, trims bodies', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: [] })
    await coordinator.register({ agentId: 'builder', capabilities: [] })
    const first = await coordinator.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      body: 'x'.repeat(2000),
      subject: 'long',
    })
    const conversationId = first.message.routing.conversationId
    for (let i = 1; i < 200; i++) {
      await coordinator.send({
        fromAgent: i % 2 === 0 ? 'architect' : 'builder',
        toAgent: i % 2 === 0 ? 'builder' : 'architect',
        body: `step ${i}: ${'y'.repeat(1500)}`,
        routing: { conversationId },
      })
    }
    const client = await connect(coordinator)
    const result = await call(client, 'comm_get_conversation', { conversation_id: conversationId })
    // Roughly 4 characters a token: the whole result (text and structured) stays under 8k tokens.
    expect(JSON.stringify(result).length / 4).toBeLessThan(8000)
    const page = result.structuredContent as {
      total: number
      count: number
      nextBefore: string
      messages: { body: string }[]
    }
    expect(page.total).toBe(200)
    expect(page.count).toBe(20)
    expect(page.messages[0]!.body).toMatch(
      /…\[trimmed \d+ of \d+ chars; read it all with comm_message_status/,
    )
    let before: string | undefined = page.nextBefore
    let seen = page.count
    while (before !== undefined) {
      const older: { count: number; nextBefore?: string } = await ok(client, 'comm_get_conversation', {
        conversation_id: conversationId,
        before,
        include_bodies: false,
        limit: 100,
      })
      seen += older.count
      before = older.nextBefore
    }
    expect(seen).toBe(200)
    const search = await ok<{ count: number; nextBefore: string }>(client, 'comm_search', {
      text: 'step',
      limit: 5,
    })
    expect(search.count).toBe(5)
    const next = await ok<{ messages: { body: string }[] }>(client, 'comm_search', {
      text: 'step',
      limit: 5,
      before: search.nextBefore,
      max_body_chars: 10,
    })
    expect(next.messages[0]!.body).toMatch(/^step \d+: …\[trimmed 1500 of 1510 chars/)
  })

  it('returns ids and status from comm_send, not the message back', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'builder', capabilities: [] })
    const client = await connect(coordinator, { agent: 'builder' })
    const sent = await call(client, 'comm_send', { to_agent: 'builder', body: 'the secret plan '.repeat(50) })
    expect(JSON.stringify(sent)).not.toContain('the secret plan')
    expect(textOf(sent)).toContain('msg_')
  })

  it('cuts a long wait at the per-call cap and returns the seconds left to continue', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'builder', capabilities: [] })
    const client = await connect(coordinator, { agent: 'builder', callWaitCapMs: 50 })
    const result = await ok<{ count: number; continueWaitSeconds: number; messages: Claimed[] }>(
      client,
      'comm_poll',
      {
        wait_seconds: 55,
      },
    )
    expect(result.count).toBe(0)
    expect(result.continueWaitSeconds).toBeCloseTo(54.95, 2)
  })
})
