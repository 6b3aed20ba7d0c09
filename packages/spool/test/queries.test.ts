import { CleanupReportSchema, ConversationSummarySchema, SpoolStatsSchema } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { sqliteConnection } from '../src/index.js'
import { openSpool, task } from './helpers.js'

describe('queries', () => {
  it('peeks at the messages waiting for an agent in claim order, leased ones included, claiming nothing', async () => {
    const { spool, clock } = await openSpool()
    const low = await spool.send(task('low', { priority: 'low' }))
    await spool.send(task('normal'))
    const critical = await spool.send(task('critical', { priority: 'critical' }))
    await spool.send(task('later'), { delaySeconds: 3 * 3600 })
    await spool.send(task('done'))
    await spool.send(task('expires', { routing: { ttlHours: 1 } }))
    await spool.send({ fromAgent: 'architect', toAgent: 'reviewer', body: 'not for builder' })
    const day = { leaseSeconds: 86_400 }
    expect((await spool.claim('builder', { limit: 1, ...day }))[0]?.message.body).toBe('critical')
    const [normal] = await spool.claim('builder', { limit: 1, ...day })
    expect(normal?.message.body).toBe('normal')
    await spool.ack(normal!.message.id, 'builder', { receipt: normal!.lease.receipt })
    clock.advance(2 * 3600_000)

    const pending = await spool.pending('builder')
    expect(pending.map((p) => [p.message.body, p.delivery.status])).toEqual([
      ['critical', 'leased'],
      ['later', 'queued'],
      ['done', 'queued'],
      ['low', 'queued'],
    ])
    expect(pending[0]?.delivery.leaseUntil).not.toBeNull()
    expect(pending[1]?.delivery.availableAt).not.toBeNull()
    expect((await spool.pending('builder', { limit: 2 })).map((p) => p.message.body)).toEqual([
      'critical',
      'later',
    ])
    // A peek changes nothing: what is due is still claimable, in claim order.
    expect((await spool.claim('builder', { limit: 10 })).map((c) => c.message.id)).toEqual([
      pending[2]?.message.id,
      low.messageId,
    ])
    expect(critical.messageId).toBe(pending[0]?.message.id)
    await expect(spool.pending('builder', { limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(spool.pending('Not An Id!')).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it('lists a conversation in the order its messages were sent', async () => {
    const { spool, clock } = await openSpool()
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
  })

  it('summarises conversations with participants, counts and last activity', async () => {
    const { spool, clock } = await openSpool()
    await spool.send(task('a', { subject: 'Auth', routing: { conversationId: 'c1' } }))
    clock.advance(5000)
    await spool.send({
      fromAgent: 'builder',
      toAgent: 'architect',
      body: 'b',
      routing: { conversationId: 'c1' },
    })
    clock.advance(5000)
    await spool.send({
      fromAgent: 'x',
      toAgent: 'y',
      subject: 'Other',
      body: 'c',
      routing: { conversationId: 'c2' },
    })
    const list = await spool.conversations()
    expect(list.map((c) => c.conversationId)).toEqual(['c2', 'c1'])
    expect(list[1]).toMatchObject({
      subject: 'Auth',
      messageCount: 2,
      participants: ['architect', 'builder'],
    })
    expect(Date.parse(list[1]!.lastActivity) - Date.parse(list[1]!.firstActivity)).toBe(5000)
    expect((await spool.conversations({ agent: 'x' })).map((c) => c.conversationId)).toEqual(['c2'])
    // What the relay and the MCP server publish is this shape: the protocol's schema, nothing left out.
    expect(list.map((c) => ConversationSummarySchema.strict().parse(c))).toEqual(list)
    const stats = await spool.stats()
    expect(SpoolStatsSchema.strict().parse(stats)).toEqual(stats)
    const report = await spool.cleanup({ dryRun: true })
    expect(CleanupReportSchema.strict().parse(report)).toEqual(report)
  })

  it('finds messages by words in subject or body, and by sender, recipient, conversation and time', async () => {
    const { spool, clock } = await openSpool()
    await spool.send(task('Please implement JWT authentication', { subject: 'Auth module' }))
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
    expect(await bodies({ since })).toHaveLength(2)
    expect(await bodies({ text: 'tests', from: 'architect' })).toEqual([])
    expect(await bodies({ limit: 1 })).toHaveLength(1)
  })

  it('searches with any user text without FTS syntax errors', async () => {
    const { spool } = await openSpool()
    await spool.send(task('quote " and paren ( and AND OR NOT * and col:on'))
    for (const text of ['"', '(', 'AND', 'col:on', '*', 'NEAR(', '', '   ']) {
      await expect(spool.search({ text })).resolves.toBeInstanceOf(Array)
    }
    expect(await spool.search({ text: 'paren AND' })).toHaveLength(1)
  })

  it('reports every delivery of a message with attempts, leases and last errors', async () => {
    const { spool } = await openSpool()
    const { messageId } = await spool.send(
      { fromAgent: 'a', toAgent: '*', body: 'x' },
      { recipients: ['b', 'c'] },
    )
    await spool.claim('b')
    await spool.nack(messageId, 'b', { reason: 'try later', delaySeconds: 5 })
    const status = await spool.status(messageId)
    expect(status.message.id).toBe(messageId)
    expect(status.deliveries).toEqual([
      expect.objectContaining({ recipient: 'b', status: 'queued', attempt: 1, lastError: 'try later' }),
      expect.objectContaining({ recipient: 'c', status: 'queued', attempt: 0, lastError: null }),
    ])
    await expect(spool.status('msg_missing')).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
  })

  it('reports totals by status, queue ages, failure rate and per-agent depth', async () => {
    const { spool, clock } = await openSpool()
    const a = await spool.send(task('a'), { maxAttempts: 1 })
    await spool.send(task('b'))
    await spool.send({ fromAgent: 'x', toAgent: 'reviewer', body: 'c' })
    clock.advance(10_000)
    const claimed = await spool.claim('builder', { limit: 2 })
    await spool.nack(a.messageId, 'builder', { reason: 'no' })
    await spool.ack(claimed[1]!.message.id, 'builder')
    clock.advance(5_000)
    const stats = await spool.stats()
    expect(stats).toMatchObject({
      totalMessages: 3,
      deliveries: { queued: 1, leased: 0, acked: 1, failed: 1, expired: 0 },
      oldestQueuedAgeMs: 15_000,
      oldestLeaseAgeMs: null,
      failedRate: 0.5,
      agents: { builder: { queued: 0, leased: 0, failed: 1 }, reviewer: { queued: 1, leased: 0, failed: 0 } },
    })
  })

  it('verifies a healthy database and names every check it ran', async () => {
    const { spool } = await openSpool()
    await spool.send(task())
    const report = await spool.verify()
    expect(report.ok).toBe(true)
    expect(report.problems).toEqual([])
    expect(report.checks).toContain('PRAGMA integrity_check')
  })

  it('finds a broken invariant', async () => {
    const { spool } = await openSpool()
    const { messageId } = await spool.send(task())
    sqliteConnection(spool)
      .prepare(
        `UPDATE deliveries SET status = 'leased', lease_until = NULL WHERE message_seq = (SELECT seq FROM messages WHERE id = ?)`,
      )
      .run(messageId)
    const report = await spool.verify()
    expect(report.ok).toBe(false)
    expect(report.problems.join('\n')).toMatch(/leased deliveries have a lease expiry/)
  })
})

describe('cleanup', () => {
  it('removes expired messages and reports counts, with a dry run that changes nothing', async () => {
    const { spool, clock } = await openSpool()
    await spool.send(task('short', { routing: { ttlHours: 1 } }))
    await spool.send(
      { fromAgent: 'a', toAgent: '*', body: 'short too', routing: { ttlHours: 1 } },
      { recipients: ['b', 'c'] },
    )
    await spool.send(task('long', { routing: { ttlHours: 48 } }))
    clock.advance(2 * 3_600_000)
    expect(await spool.cleanup({ dryRun: true })).toEqual({
      dryRun: true,
      expiredMessages: 2,
      ackedMessages: 0,
      deliveries: 3,
    })
    expect((await spool.stats()).totalMessages).toBe(3)
    expect(await spool.cleanup()).toEqual({
      dryRun: false,
      expiredMessages: 2,
      ackedMessages: 0,
      deliveries: 3,
    })
    expect((await spool.stats()).totalMessages).toBe(1)
    expect(await spool.search({ text: 'short' })).toEqual([])
    expect((await spool.verify()).ok).toBe(true)
  })

  it('removes messages acked by every recipient longer ago than the retention', async () => {
    const { spool, clock } = await openSpool()
    const old = await spool.send(task('old'))
    await spool.claim('builder')
    await spool.ack(old.messageId, 'builder')
    const partly = await spool.send(
      { fromAgent: 'a', toAgent: '*', body: 'partly' },
      { recipients: ['b', 'c'] },
    )
    await spool.claim('b')
    await spool.ack(partly.messageId, 'b')
    clock.advance(3_600_000)
    const recent = await spool.send(task('recent'))
    await spool.claim('builder')
    await spool.ack(recent.messageId, 'builder')
    const report = await spool.cleanup({ ackedOlderThanMs: 1_800_000 })
    expect(report).toMatchObject({ ackedMessages: 1, expiredMessages: 0, deliveries: 1 })
    await expect(spool.status(old.messageId)).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
    await expect(spool.status(partly.messageId)).resolves.toBeDefined()
    await expect(spool.status(recent.messageId)).resolves.toBeDefined()
  })
})
