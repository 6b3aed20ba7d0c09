import { createMessage } from '@agent-comm/protocol'
import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** `levels` objects nested in each other, as JSON text. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`

/** `levels` objects nested in each other. */
const nested = (levels: number) => JSON.parse(nestedText(levels))

/** Expects `sending` to fail with a VALIDATION error whose one issue is at `path`, its message matching `why`. */
const refusedAt = (sending: Promise<unknown>, path: string, why: RegExp) =>
  expect(sending).rejects.toMatchObject({
    code: 'VALIDATION',
    issues: [{ path, message: expect.stringMatching(why) }],
  })

/** Input a store must never hold: refused at send, with nothing stored; input at the limits kept intact. */
export function inputLimitCases(ctx: SpoolContractContext): void {
  it('refuses JSON nested too deep with a VALIDATION error naming the depth limit, and stores nothing', async () => {
    const { spool } = await ctx.open()
    await expect(spool.send(task('Go', { metadata: nested(3_000) }))).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/metadata: is nested more than 64 levels deep .*jsonMaxDepth/),
    })
    await expect(
      spool.sendBatch([
        { message: task('fine') },
        { message: task('Go', { payload: { type: 'text', data: nested(100_000) } }) },
      ]),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/^Batch item 1: .*payload\.data/),
    })
    expect((await spool.stats()).totalMessages).toBe(0)
  })

  it('leaves messages within the limits untouched, at the deepest allowed nesting too', async () => {
    const { spool } = await ctx.open()
    const metadata = JSON.parse(nestedText(64))
    const payload = { type: 'context_share' as const, data: JSON.parse(nestedText(64)) }
    await spool.send(task('Go', { metadata, payload }))
    const [claimed] = await spool.claim('builder')
    expect(claimed?.message.metadata).toEqual(metadata)
    expect(claimed?.message.payload).toEqual(payload)
  })

  it('enforces a smaller body limit when the spool is configured with one', async () => {
    const { spool } = await ctx.open({ maxBodyBytes: 10 })
    await expect(spool.send(task('x'.repeat(11)))).rejects.toThrow(/body: must be at most 10 bytes/)
    await expect(spool.send(task('x'.repeat(10)))).resolves.toMatchObject({ deliveries: 1 })
  })

  it('refuses a body over the 1 MiB limit, and stores nothing', async () => {
    const { spool } = await ctx.open()
    await expect(spool.send(task('x'.repeat(1024 * 1024 + 1)))).rejects.toMatchObject({ code: 'VALIDATION' })
    expect((await spool.stats()).totalMessages).toBe(0)
  })

  it('stores text with quotes, backslashes, NUL-free unicode and emoji exactly', async () => {
    const { spool } = await ctx.open()
    const body = 'quote " single \' backslash \\ tab \t newline \n é 漢字 🚀 \u2028 end'
    const { messageId } = await spool.send(task(body, { subject: 'it\'s "odd" \\ 🚀' }))
    const [claimed] = await spool.claim('builder')
    expect(claimed?.message).toMatchObject({ id: messageId, body, subject: 'it\'s "odd" \\ 🚀' })
  })

  // PostgreSQL's `text` cannot hold NUL and SQLite's can: every store refuses it the same way, up front.
  it('refuses NUL in a body or subject with a VALIDATION error naming the field, and stores nothing', async () => {
    const { spool } = await ctx.open()
    const nul = /must not contain NUL characters \(U\+0000\)/
    await refusedAt(spool.send(task('a\u0000b')), 'body', nul)
    await refusedAt(spool.send({ ...createMessage(task()), subject: 'x\u0000' }), 'subject', nul)
    await expect(
      spool.sendBatch([{ message: task('fine') }, { message: task('\u0000') }]),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/^Batch item 1: .*body: must not contain NUL/),
    })
    expect((await spool.stats()).totalMessages).toBe(0)
  })

  // UTF-8 storage turns a lone UTF-16 surrogate into U+FFFD: the stored text would not be what was sent, and
  // an exact retry of the message would be refused as a CONFLICT. Refused up front on every store.
  it('refuses a lone surrogate in a body or subject with a VALIDATION error, and keeps pairs (emoji)', async () => {
    const { spool } = await ctx.open()
    const lone = /lone UTF-16 surrogate/
    await refusedAt(spool.send(task('half an emoji: \ud83d')), 'body', lone)
    await refusedAt(spool.send({ ...createMessage(task()), subject: '\udc00 first' }), 'subject', lone)
    expect((await spool.stats()).totalMessages).toBe(0)
    const emoji = createMessage(task('a whole emoji: \ud83d\ude80'))
    await spool.send(emoji)
    expect(await spool.send(emoji)).toMatchObject({ duplicate: true })
    expect((await spool.claim('builder'))[0]?.message.body).toBe('a whole emoji: 🚀')
  })

  it('refuses NUL in a nack reason, a receipt, a conversation id and search filters with a VALIDATION error', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    await spool.claim('builder')
    await expect(spool.nack(messageId, 'builder', { reason: 'bad\u0000input' })).rejects.toMatchObject({
      code: 'VALIDATION',
      issues: [{ path: 'reason', message: expect.stringContaining('NUL') }],
    })
    await expect(spool.ack(messageId, 'builder', { receipt: 'r\u0000' })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(spool.ackBatch([{ messageId, agent: 'builder', receipt: 'r\u0000' }])).rejects.toMatchObject(
      {
        code: 'VALIDATION',
      },
    )
    await expect(spool.conversation('abc\u0000def')).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(spool.search({ from: 'a\u0000' })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(spool.search({ text: 'a\u0000' })).rejects.toMatchObject({ code: 'VALIDATION' })
    // The delivery is still leased, its nack refused before anything changed.
    expect((await spool.status(messageId)).deliveries[0]).toMatchObject({ status: 'leased' })
  })
}
