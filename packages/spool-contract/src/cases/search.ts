import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** Text a user might type, meant literally: none of it may be read as query syntax by any store. */
const HOSTILE_TEXTS = [
  'foo" OR *',
  'NEAR(',
  'NEAR(a b)',
  '-bar',
  'a -bar',
  '"',
  '""',
  "'",
  "it's",
  '\\',
  'back\\slash',
  '\\"',
  '(',
  ')',
  'AND',
  'OR',
  'NOT',
  'a AND',
  'col:on',
  '*',
  '^',
  '%',
  '_',
  '%_%',
  '&',
  '|',
  '!',
  ':*',
  '<->',
  "'); DROP TABLE messages; --",
  '{}[]',
  '',
  '   ',
]

/** search(): words in subject or body, filters, and any text a user types. */
export function searchCases(ctx: SpoolContractContext): void {
  it('finds messages by words in subject or body, and by sender, recipient, conversation and time', async () => {
    const { spool, clock } = await ctx.open()
    await spool.send(
      task('Please implement JWT authentication', {
        subject: 'Auth module',
        routing: { conversationId: 'c1' },
      }),
    )
    clock.advance(60_000)
    const since = clock.now()
    await spool.send({
      fromAgent: 'reviewer',
      toAgent: 'builder',
      subject: 'Review',
      body: 'PR #123 needs tests',
    })
    await spool.send(
      { fromAgent: 'ops', toAgent: '*', body: 'maintenance tonight, authentication offline' },
      { recipients: ['builder', 'tester'] },
    )
    const bodies = async (q: Parameters<typeof spool.search>[0]) => (await spool.search(q)).map((m) => m.body)
    expect(await bodies({ text: 'authentication' })).toEqual([
      'maintenance tonight, authentication offline',
      'Please implement JWT authentication',
    ])
    expect(await bodies({ text: 'auth module' })).toEqual(['Please implement JWT authentication'])
    expect(await bodies({ text: 'authen' })).toHaveLength(2)
    expect(await bodies({ from: 'reviewer' })).toEqual(['PR #123 needs tests'])
    expect(await bodies({ to: 'tester' })).toEqual(['maintenance tonight, authentication offline'])
    expect(await bodies({ conversationId: 'c1' })).toEqual(['Please implement JWT authentication'])
    expect(await bodies({ since })).toHaveLength(2)
    expect(await bodies({ text: 'tests', from: 'architect' })).toEqual([])
    expect(await bodies({ limit: 1 })).toHaveLength(1)
  })

  it('finds, for visibleTo, only what that agent sent or was addressed or delivered, within the filters', async () => {
    const { spool, clock } = await ctx.open()
    const sent = await spool.send(task('parser plan', { fromAgent: 'builder', toAgent: 'architect' }))
    clock.advance(1)
    const received = await spool.send(task('parser task'))
    clock.advance(1)
    await spool.send(task('parser review', { toAgent: 'reviewer' }))
    clock.advance(1)
    const broadcast = await spool.send(task('parser standup', { toAgent: '*' }), {
      recipients: ['builder', 'reviewer'],
    })
    const ids = async (query: Parameters<typeof spool.search>[0]) =>
      (await spool.search(query)).map((m) => m.id)
    // Newest first, as every search.
    expect(await ids({ text: 'parser', visibleTo: 'builder' })).toEqual([
      broadcast.messageId,
      received.messageId,
      sent.messageId,
    ])
    expect(await ids({ text: 'parser', visibleTo: 'builder', from: 'architect' })).toEqual([
      broadcast.messageId,
      received.messageId,
    ])
    expect(await ids({ visibleTo: 'builder', to: 'architect' })).toEqual([sent.messageId])
    expect(await ids({ visibleTo: 'builder', from: 'reviewer' })).toEqual([])
    expect(await ids({ text: 'parser', visibleTo: 'builder', limit: 1 })).toEqual([broadcast.messageId])
  })

  it('searches with any user text without FTS syntax errors', async () => {
    const { spool } = await ctx.open()
    await spool.send(task('quote " and paren ( and AND OR NOT * and col:on'))
    for (const text of ['"', '(', 'AND', 'col:on', '*', 'NEAR(', '', '   ']) {
      await expect(spool.search({ text })).resolves.toBeInstanceOf(Array)
    }
    expect(await spool.search({ text: 'paren AND' })).toHaveLength(1)
  })

  it('never throws on hostile search text, and finds what that text literally contains', async () => {
    const { spool } = await ctx.open()
    const quoted = await spool.send(task('say foo" OR * to the parser', { subject: 'quotes' }))
    const near = await spool.send(task('call NEAR( without closing', { subject: 'near' }))
    const minus = await spool.send(task('keep -bar in the text', { subject: 'minus' }))
    const slash = await spool.send(
      task('a path C:\\temp\\back\\slash and "quoted \\" text"', { subject: 'slash' }),
    )
    await spool.send(task('nothing special here', { subject: 'plain' }))
    for (const text of HOSTILE_TEXTS) {
      const found = await spool.search({ text })
      expect(found, `search for ${JSON.stringify(text)}`).toBeInstanceOf(Array)
    }
    const ids = async (text: string) => (await spool.search({ text })).map((m) => m.id)
    expect(await ids('foo" OR *')).toEqual([quoted.messageId])
    expect(await ids('NEAR(')).toEqual([near.messageId])
    expect(await ids('-bar')).toEqual([minus.messageId])
    expect(await ids('back\\slash')).toEqual([slash.messageId])
    // Words that are operators elsewhere are plain words here: "OR" matches only a message containing it.
    expect(await ids('parser OR')).toEqual([quoted.messageId])
    expect(await ids("'); DROP TABLE messages; --")).toEqual([])
    expect((await spool.stats()).totalMessages).toBe(5)
  })
}
