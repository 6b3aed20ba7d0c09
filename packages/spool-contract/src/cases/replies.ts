import { EXPIRY_DECIDER } from '@agent-comm/protocol'
import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** claimReply / waitForReply: a requester takes the reply to one request and nothing else. */
export function replyCases(ctx: SpoolContractContext): void {
  const reply = (requestId: string, body: string, from = 'builder') => ({
    fromAgent: from,
    toAgent: 'architect',
    body,
    routing: { replyTo: requestId },
  })

  it('claims only the reply to the named request, leaving other replies and ordinary messages queued', async () => {
    const { spool } = await ctx.open()
    const one = await spool.send(task('one'))
    const two = await spool.send(task('two'))
    await spool.send({ fromAgent: 'lead', toAgent: 'architect', body: 'unrelated' })
    await spool.send(reply(two.messageId, 'answer to two'))
    expect(await spool.claimReply('architect', one.messageId)).toBeUndefined()
    await spool.send(reply(one.messageId, 'answer to one'))
    const claimed = await spool.claimReply('architect', one.messageId)
    expect(claimed?.message.body).toBe('answer to one')
    expect(claimed?.lease).toMatchObject({ recipient: 'architect', attempt: 1 })
    await spool.ack(claimed!.message.id, 'architect', { receipt: claimed!.lease.receipt })
    // A leased or acked reply is not handed out twice.
    expect(await spool.claimReply('architect', one.messageId)).toBeUndefined()
    const rest = await spool.pending('architect')
    expect(rest.map((p) => [p.message.body, p.delivery.status])).toEqual([
      ['unrelated', 'queued'],
      ['answer to two', 'queued'],
    ])
  })

  it('takes replies oldest first, and a reply whose lease ran out again', async () => {
    const { spool, clock } = await ctx.open()
    const request = await spool.send(task())
    await spool.send(reply(request.messageId, 'first'))
    clock.advance(1)
    await spool.send(reply(request.messageId, 'second', 'reviewer'))
    const first = await spool.claimReply('architect', request.messageId, { leaseSeconds: 10 })
    expect(first?.message.body).toBe('first')
    clock.advance(10_001)
    const again = await spool.claimReply('architect', request.messageId)
    expect(again?.message.body).toBe('first')
    expect(again?.lease.attempt).toBe(2)
  })

  it('refuses an approval response whose decision its request did not offer (its onExpiry one when expired)', async () => {
    const { spool } = await ctx.open()
    const request = await spool.send(
      task('May I deploy?', {
        payload: { type: 'approval_request', data: { question: 'Deploy?', options: ['yes', 'no'] } },
      }),
    )
    const decision = (value: string, expired?: boolean) => ({
      ...reply(request.messageId, value),
      payload: {
        type: 'approval_response' as const,
        data: {
          decision: value,
          decidedBy: 'builder',
          decidedAt: '2026-02-03T10:00:00.000Z',
          ...(expired ? { expired } : {}),
        },
      },
    })
    for (const sent of [spool.send(decision('maybe')), spool.sendBatch([{ message: decision('approve') }])]) {
      await expect(sent).rejects.toMatchObject({
        code: 'VALIDATION',
        issues: [expect.objectContaining({ path: 'payload.data.decision' })],
      })
    }
    expect(await spool.claimReply('architect', request.messageId)).toBeUndefined()
    await spool.send(decision('deny', true))
    expect((await spool.claimReply('architect', request.messageId))?.message.payload?.data).toMatchObject({
      decision: 'deny',
    })
  })

  it('refuses an approval response sent in the name of someone other than its sender', async () => {
    const { spool } = await ctx.open()
    const request = await spool.send(task())
    const decision = (decidedBy: string) => ({
      ...reply(request.messageId, 'approve'),
      payload: {
        type: 'approval_response' as const,
        data: { decision: 'approve', decidedBy, decidedAt: '2026-02-03T10:00:00.000Z' },
      },
    })
    await expect(spool.send(decision('human1'))).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/decidedBy must be the sender \('builder'\)/),
    })
    await expect(spool.send(decision(EXPIRY_DECIDER))).rejects.toMatchObject({ code: 'FORBIDDEN' })
    expect(await spool.claimReply('architect', request.messageId)).toBeUndefined()
    await spool.send(decision('builder'))
    expect((await spool.claimReply('architect', request.messageId))?.message.payload?.data).toMatchObject({
      decidedBy: 'builder',
    })
  })

  it('with `from`, takes only a reply sent by one of those agents, and wakes only for one', async () => {
    const { spool } = await ctx.open()
    const request = await spool.send(task())
    await spool.send(reply(request.messageId, 'posing as the reply', 'stranger'))
    const from = ['builder', 'reviewer']
    expect(await spool.claimReply('architect', request.messageId, { from })).toBeUndefined()
    expect(await spool.waitForReply('architect', request.messageId, { from, timeoutMs: 0 })).toBe(false)
    // Without `from`, the stranger's message is a reply like any other.
    expect(await spool.waitForReply('architect', request.messageId, { timeoutMs: 0 })).toBe(true)
    const waiting = spool.waitForReply('architect', request.messageId, { from, timeoutMs: 60_000 })
    await spool.send(reply(request.messageId, 'the answer', 'reviewer'))
    expect(await waiting).toBe(true)
    const claimed = await spool.claimReply('architect', request.messageId, { from })
    expect(claimed?.message).toMatchObject({ fromAgent: 'reviewer', body: 'the answer' })
    // The stranger's message is still in the inbox, for whoever reads it.
    expect((await spool.pending('architect')).map((p) => [p.message.body, p.delivery.status])).toEqual([
      ['posing as the reply', 'queued'],
      ['the answer', 'leased'],
    ])
  })

  it('refuses a reply claim naming no agent, or an invalid one, in `from`', async () => {
    const { spool } = await ctx.open()
    const request = await spool.send(task())
    await expect(spool.claimReply('architect', request.messageId, { from: [] })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(
      spool.waitForReply('architect', request.messageId, { from: ['no spaces'], timeoutMs: 0 }),
    ).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it('does not hand another agent the reply', async () => {
    const { spool } = await ctx.open()
    const request = await spool.send(task())
    await spool.send(reply(request.messageId, 'for architect'))
    expect(await spool.claimReply('lead', request.messageId)).toBeUndefined()
    expect(await spool.claimReply('architect', request.messageId)).toBeDefined()
  })

  it('wakes a reply waiter for its reply, sent by another spool on the same storage, and not for other mail', async () => {
    const { spool, openAnother } = await ctx.open()
    const other = await openAnother()
    const request = await spool.send(task())
    await other.send({ fromAgent: 'lead', toAgent: 'architect', body: 'not the reply' })
    expect(await spool.waitForReply('architect', request.messageId, { timeoutMs: 50 })).toBe(false)
    const waiting = spool.waitForReply('architect', request.messageId, { timeoutMs: 60_000 })
    await other.send(reply(request.messageId, 'here'))
    expect(await waiting).toBe(true)
    expect((await spool.claimReply('architect', request.messageId))?.message.body).toBe('here')
  })
}
