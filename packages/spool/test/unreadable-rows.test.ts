import { describe, expect, it } from 'vitest'
import { sqliteConnectionOf } from '../src/testing.js'
import { openSpool, task } from './helpers.js'

/** `levels` objects nested in each other, as JSON text. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`

describe('a stored message the protocol cannot read', () => {
  it('is dead-lettered alone by the claim that meets it; the others are handed out', async () => {
    const { spool } = await openSpool()
    const ids: string[] = []
    for (const subject of ['first', 'deep', 'broken', 'second']) {
      ids.push((await spool.send(task('Go', { subject, metadata: { note: subject } }))).messageId)
    }
    // Written past the send-time checks: as an older version, or a hand edit, could have left them.
    const write = sqliteConnectionOf(spool).prepare('UPDATE messages SET metadata = ? WHERE id = ?')
    write.run(`{"deep":${nestedText(3_000)}}`, ids[1])
    write.run('{"not json', ids[2])

    const claimed = await spool.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.subject)).toEqual(['first', 'second'])
    expect(claimed.map((c) => c.message.metadata)).toEqual([{ note: 'first' }, { note: 'second' }])

    const failed = sqliteConnectionOf(spool)
      .prepare(
        `SELECT m.subject AS subject, d.status AS status, d.last_error AS lastError, d.receipt AS receipt
         FROM deliveries d JOIN messages m ON m.seq = d.message_seq WHERE d.status = 'failed' ORDER BY m.seq`,
      )
      .all()
    expect(failed).toEqual([
      {
        subject: 'deep',
        status: 'failed',
        lastError: expect.stringMatching(
          /^Stored message 'msg_\w+' cannot be read: its metadata breaks the protocol: .*nested more than 64 levels deep .*jsonMaxDepth/,
        ),
        receipt: null,
      },
      {
        subject: 'broken',
        status: 'failed',
        lastError: expect.stringMatching(/its metadata is not valid JSON/),
        receipt: null,
      },
    ])
    // A dead letter stays readable for an operator, as stored; a column that is not even JSON is left out
    // of the message and named, so the listings an operator is sent to still work.
    expect((await spool.status(ids[1] as string)).deliveries[0]).toMatchObject({ status: 'failed' })
    const broken = await spool.status(ids[2] as string)
    expect(broken.message.subject).toBe('broken')
    expect(broken.message).not.toHaveProperty('metadata')
    expect(broken.unreadable).toEqual([{ column: 'metadata', reason: 'is not valid JSON' }])
    expect((await spool.status(ids[0] as string)).unreadable).toBeUndefined()
    const failedList = await spool.listFailed()
    expect(failedList.map((f) => [f.message.subject, f.unreadable])).toEqual([
      ['broken', [{ column: 'metadata', reason: 'is not valid JSON' }]],
      ['deep', undefined],
    ])
    expect((await spool.search({ text: 'broken' })).map((m) => m.subject)).toEqual(['broken'])
    const conversationId = broken.message.routing.conversationId
    expect((await spool.conversation(conversationId)).map((m) => m.subject)).toEqual(['broken'])
    expect(await spool.retryFailed(ids[2] as string)).toEqual({ requeued: 1 })
    // Retried as it stands, the claim dead-letters it again instead of handing it out.
    expect(await spool.claim('builder')).toEqual([])
    expect((await spool.status(ids[2] as string)).deliveries[0]).toMatchObject({ status: 'failed' })
  })

  it('takes the next messages in place of unreadable ones, so a claim fills its limit', async () => {
    const { spool } = await openSpool()
    const ids: string[] = []
    for (const subject of ['broken', 'first', 'damaged', 'second', 'third']) {
      ids.push((await spool.send(task('Go', { subject, metadata: { note: subject } }))).messageId)
    }
    const write = sqliteConnectionOf(spool).prepare('UPDATE messages SET metadata = ? WHERE id = ?')
    write.run('{"not json', ids[0])
    write.run('{"not json', ids[2])

    expect((await spool.claim('builder', { limit: 1 })).map((c) => c.message.subject)).toEqual(['first'])
    expect((await spool.claim('builder', { limit: 2 })).map((c) => c.message.subject)).toEqual([
      'second',
      'third',
    ])
    expect((await spool.listFailed()).map((f) => f.message.subject).sort()).toEqual(['broken', 'damaged'])
  })

  it('returns nothing, dead-lettering them, when only unreadable messages wait', async () => {
    const { spool } = await openSpool()
    for (const subject of ['one', 'two', 'three']) {
      const { messageId } = await spool.send(task('Go', { subject, metadata: { note: subject } }))
      sqliteConnectionOf(spool).prepare('UPDATE messages SET metadata = ? WHERE id = ?').run('[', messageId)
    }
    expect(await spool.claim('builder', { limit: 1 })).toEqual([])
    expect((await spool.stats()).deliveries.failed).toBe(3)
  })

  it('dead-letters a message whose stored ids break the protocol, as a relay client would', async () => {
    const { spool } = await openSpool()
    const ids: string[] = []
    for (const subject of ['escape', 'nul', 'reply', 'payload', 'array', 'good']) {
      ids.push((await spool.send(task('Go', { subject }))).messageId)
    }
    // As a version before the id checks could have stored them.
    sqliteConnectionOf(spool)
      .prepare('UPDATE messages SET conversation_id = ? WHERE id = ?')
      .run('conv\u001b[2Jx', ids[0])
    sqliteConnectionOf(spool)
      .prepare('UPDATE messages SET from_agent = ? WHERE id = ?')
      .run('arch\u0000itect', ids[1])
    sqliteConnectionOf(spool)
      .prepare('UPDATE messages SET reply_to = ? WHERE id = ?')
      .run('msg\u001bx', ids[2])
    sqliteConnectionOf(spool)
      .prepare('UPDATE messages SET payload = ? WHERE id = ?')
      .run('{"type":"bogus"}', ids[3])
    sqliteConnectionOf(spool).prepare('UPDATE messages SET metadata = ? WHERE id = ?').run('[1]', ids[4])

    const claimed = await spool.claim('builder', { limit: 1 })
    expect(claimed.map((c) => c.message.subject)).toEqual(['good'])
    const reasons = Object.fromEntries(
      (await spool.listFailed()).map((f) => [f.message.subject, f.delivery.lastError]),
    )
    expect(reasons).toEqual({
      escape: expect.stringMatching(/its conversation_id breaks the protocol/),
      nul: expect.stringMatching(/its from_agent breaks the protocol/),
      reply: expect.stringMatching(/its reply_to breaks the protocol/),
      payload: expect.stringMatching(/its payload breaks the protocol: .*task_assignment/),
      array: expect.stringMatching(/its metadata breaks the protocol: it is not a JSON object/),
    })
    for (const reason of Object.values(reasons)) {
      expect([...(reason ?? '')].some((c) => (c.codePointAt(0) ?? 0x20) < 0x20)).toBe(false)
    }
  })

  it('hands out a payload with and without data as the protocol reads it', async () => {
    const { spool } = await openSpool()
    await spool.send(task('Go', { subject: 'with', payload: { type: 'text', data: { a: [1, 'x'] } } }))
    const { messageId } = await spool.send(
      task('Go', { subject: 'without', payload: { type: 'status_request' } }),
    )
    sqliteConnectionOf(spool)
      .prepare('UPDATE messages SET payload = ? WHERE id = ?')
      .run('{"type":"status_request"}', messageId)
    const claimed = await spool.claim('builder')
    expect(claimed.map((c) => c.message.payload)).toEqual([
      { type: 'text', data: { a: [1, 'x'] } },
      { type: 'status_request', data: null },
    ])
  })
})

describe('a claim that dead-letters an unreadable message', () => {
  it("reports it on the spool's logger, once, after the claim", async () => {
    const warnings: { fields: Record<string, unknown>; message: string }[] = []
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }),
      error: () => {},
    }
    const { spool } = await openSpool({ logger })
    const { messageId } = await spool.send(task('Go', { metadata: { note: 'x' } }))
    sqliteConnectionOf(spool)
      .prepare('UPDATE messages SET metadata = ? WHERE id = ?')
      .run('{"not json', messageId)

    expect(await spool.claim('builder')).toEqual([])
    expect(warnings).toEqual([
      {
        fields: {
          messageId,
          agent: 'builder',
          reason: expect.stringMatching(/its metadata is not valid JSON/),
        },
        message: expect.stringMatching(/dead-lettered: it is listed by listFailed/),
      },
    ])
    expect(await spool.claim('builder')).toEqual([])
    expect(warnings).toHaveLength(1)
  })
})
