import { ConversationSummarySchema, type ManualClock } from '@agent-comm/protocol'
import { expect, it } from 'vitest'
import { type ContractSpool, type SpoolContractContext, task } from '../context.js'

/** A message from `fromAgent` to `toAgent` in conversation `conversationId`. */
function inThread(
  conversationId: string,
  fromAgent: string,
  toAgent: string,
  body: string,
  subject?: string,
) {
  return { fromAgent, toAgent, body, subject, routing: { conversationId } }
}

/** Sends `messages` one after another, the clock moving `stepMs` between each and the next. */
async function sendSpaced(
  spool: ContractSpool,
  clock: ManualClock,
  stepMs: number,
  messages: Parameters<ContractSpool['send']>[0][],
): Promise<void> {
  for (const [i, message] of messages.entries()) {
    if (i > 0) clock.advance(stepMs)
    await spool.send(message)
  }
}

/** conversation(id) and conversations(): threads in send order, and their summaries. */
export function conversationCases(ctx: SpoolContractContext): void {
  it('lists a conversation in the order its messages were sent', async () => {
    const { spool, clock } = await ctx.open()
    const first = await spool.send(task('start', { routing: { conversationId: 'conv_auth' } }))
    clock.advance(1000)
    await spool.send({ fromAgent: 'other', toAgent: 'builder', body: 'unrelated' })
    await spool.send({
      fromAgent: 'builder',
      toAgent: 'architect',
      body: 'done',
      routing: { conversationId: 'conv_auth', replyTo: first.messageId },
    })
    clock.advance(1000)
    await spool.send(task('thanks', { routing: { conversationId: 'conv_auth' } }))
    const thread = await spool.conversation('conv_auth')
    expect(thread.map((m) => m.body)).toEqual(['start', 'done', 'thanks'])
    expect(thread[1]?.routing.replyTo).toBe(first.messageId)
    expect(await spool.conversation('conv_nobody')).toEqual([])
  })

  it('summarises conversations with participants, counts and last activity', async () => {
    const { spool, clock } = await ctx.open()
    await sendSpaced(spool, clock, 5000, [
      inThread('c1', 'architect', 'builder', 'a', 'Auth'),
      inThread('c1', 'builder', 'architect', 'b'),
      inThread('c2', 'x', 'y', 'c', 'Other'),
    ])
    const list = await spool.conversations()
    expect(list.map((c) => c.conversationId)).toEqual(['c2', 'c1'])
    expect(list[1]).toMatchObject({
      subject: 'Auth',
      messageCount: 2,
      participants: ['architect', 'builder'],
    })
    expect(Date.parse(list[1]!.lastActivity) - Date.parse(list[1]!.firstActivity)).toBe(5000)
    expect((await spool.conversations({ agent: 'x' })).map((c) => c.conversationId)).toEqual(['c2'])
    expect((await spool.conversations({ limit: 1 })).map((c) => c.conversationId)).toEqual(['c2'])
    // What the relay and the MCP server publish is this shape: the protocol's schema, nothing left out.
    expect(list.map((c) => ConversationSummarySchema.strict().parse(c))).toEqual(list)
  })

  it('shows an agent only the messages it sent, was addressed or was delivered, and summarises threads over those alone', async () => {
    const { spool, clock } = await ctx.open()
    await spool.send(task('start', { subject: 'Secret plan', routing: { conversationId: 'cx' } }))
    clock.advance(1000)
    await spool.send(inThread('cx', 'builder', 'architect', 'done'))
    clock.advance(1000)
    // A broadcast names no recipient: the tester sees it through its delivery.
    await spool.send(inThread('cx', 'architect', '*', 'all', 'All hands'), {
      recipients: ['builder', 'tester'],
    })
    clock.advance(1000)
    await spool.send(inThread('cx', 'architect', 'reviewer', 'review'))
    await spool.send({ fromAgent: 'x', toAgent: 'y', body: 'elsewhere', routing: { conversationId: 'cy' } })

    const bodies = async (visibleTo: string) =>
      (await spool.conversation('cx', { visibleTo })).map((m) => m.body)
    expect(await bodies('architect')).toEqual(['start', 'done', 'all', 'review'])
    expect(await bodies('builder')).toEqual(['start', 'done', 'all'])
    expect(await bodies('tester')).toEqual(['all'])
    expect(await bodies('nobody')).toEqual([])
    expect((await spool.conversation('cx')).length).toBe(4)

    expect((await spool.conversations({ visibleTo: 'builder' })).map((c) => c.conversationId)).toEqual(['cx'])
    expect(await spool.conversations({ visibleTo: 'nobody' })).toEqual([])
    const [seen] = await spool.conversations({ visibleTo: 'tester' })
    // Nothing of the thread beyond the one message the tester got: not its first subject, not the reviewer.
    expect(seen).toMatchObject({
      conversationId: 'cx',
      subject: 'All hands',
      messageCount: 1,
      participants: ['*', 'architect'],
    })
    expect(seen!.firstActivity).toBe(seen!.lastActivity)
    const whole = await spool.conversations({ agent: 'reviewer' })
    expect(whole.map((c) => [c.conversationId, c.messageCount])).toEqual([['cx', 4]])
    // `agent` among the visible messages: the builder sees no message of the reviewer's in cx.
    expect(await spool.conversations({ agent: 'reviewer', visibleTo: 'builder' })).toEqual([])
  })
}
