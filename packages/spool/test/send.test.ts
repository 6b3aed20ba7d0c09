import { createMessage } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { sqliteConnection } from '../src/index.js'
import { openSpool, task } from './helpers.js'

describe('sending', () => {
  it('stores the message exactly as sent and returns it from a claim', async () => {
    const { spool } = await openSpool()
    const message = createMessage({
      ...task(),
      priority: 'high',
      payload: { type: 'task_assignment', data: { feature: 'auth', files: ['a.ts'] } },
      metadata: { ticket: 42 },
      routing: { conversationId: 'conv_1', replyTo: 'msg_0', ttlHours: 2 },
    })
    await spool.send(message)
    const [claimed] = await spool.claim('builder')
    expect(claimed?.message).toEqual(message)
  })

  it('treats sending the same id twice as idempotent and reports the duplicate', async () => {
    const { spool } = await openSpool()
    const message = createMessage(task())
    expect(await spool.send(message)).toMatchObject({ duplicate: false, deliveries: 1 })
    expect(await spool.send(message)).toMatchObject({ duplicate: true, deliveries: 0 })
    expect(await spool.claim('builder', { limit: 10 })).toHaveLength(1)
    expect((await spool.stats()).totalMessages).toBe(1)
  })

  it("refuses an id already used by another sender's message instead of reporting it as a duplicate", async () => {
    const { spool } = await openSpool()
    const original = createMessage(task())
    await spool.send(original)
    const impostor = { ...original, fromAgent: 'reviewer', body: 'a different message' }
    await expect(spool.send(impostor)).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining('new id'),
    })
    await expect(spool.sendBatch([{ message: impostor }])).rejects.toMatchObject({ code: 'VALIDATION' })
    expect((await spool.status(original.id)).message).toEqual(original)
    // The original sender's retry is still an idempotent duplicate.
    expect(await spool.send(original)).toMatchObject({ duplicate: true, deliveries: 0 })
  })

  it('refuses recipients that would send a direct message to anyone but its address', async () => {
    const { spool } = await openSpool()
    for (const recipients of [['reviewer'], ['builder', 'reviewer'], []]) {
      await expect(spool.send(task(), { recipients })).rejects.toMatchObject({
        code: 'VALIDATION',
        issues: [expect.objectContaining({ path: 'recipients' })],
      })
    }
    await expect(
      spool.sendBatch([{ message: task(), options: { recipients: ['reviewer'] } }]),
    ).rejects.toMatchObject({ code: 'VALIDATION' })
    expect((await spool.stats()).totalMessages).toBe(0)
    // The address itself is what a router passes: still accepted.
    expect(await spool.send(task(), { recipients: ['builder', 'builder'] })).toMatchObject({ deliveries: 1 })
  })

  it('writes a batch in chunks of about chunkDeliveries deliveries, validating every message before the first', async () => {
    const { spool } = await openSpool()
    const broadcast = () => ({
      message: createMessage({ fromAgent: 'ops', toAgent: '*', body: 'b' }),
      options: { recipients: ['builder', 'reviewer', 'tester'] },
    })
    const items = Array.from({ length: 450 }, broadcast)
    const invalid = [...items, { message: task(), options: { recipients: ['reviewer'] } }]
    await expect(spool.sendBatch(invalid, { chunkDeliveries: 10 })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    expect((await spool.stats()).totalMessages).toBe(0)
    // Between two chunks the event loop runs: sample what is stored each time it does.
    const seen = new Set<number>()
    let done = false
    const sample = (): void => {
      if (done) return
      seen.add(sqliteConnection(spool).prepare('SELECT COUNT(*) FROM messages').pluck().get() as number)
      setImmediate(sample)
    }
    setImmediate(sample)
    const results = await spool.sendBatch(items, { chunkDeliveries: 10 })
    done = true
    expect(results.map((r) => r.deliveries)).toEqual(items.map(() => 3))
    const partial = [...seen].filter((n) => n > 0 && n < 450)
    expect(partial.length).toBeGreaterThan(10)
    expect(Math.max(...partial) - Math.min(...partial)).toBeLessThan(450)
    // Without chunkDeliveries a batch is one transaction: no one sees it half written.
    seen.clear()
    done = false
    setImmediate(sample)
    await spool.sendBatch(Array.from({ length: 450 }, broadcast))
    done = true
    expect([...seen].filter((n) => n > 450 && n < 900)).toEqual([])
  })

  it('fans a broadcast out to one delivery per recipient', async () => {
    const { spool } = await openSpool()
    const sent = await spool.send(
      { fromAgent: 'ops', toAgent: '*', body: 'deploy at noon', payload: { type: 'broadcast', data: null } },
      { recipients: ['builder', 'reviewer', 'builder', 'tester'] },
    )
    expect(sent).toMatchObject({ deliveries: 3, recipients: ['builder', 'reviewer', 'tester'] })
    for (const agent of ['builder', 'reviewer', 'tester']) {
      const [claimed] = await spool.claim(agent)
      expect(claimed?.message.id).toBe(sent.messageId)
    }
    const { deliveries } = await spool.status(sent.messageId)
    expect(deliveries.map((d) => d.recipient)).toEqual(['builder', 'reviewer', 'tester'])
  })

  it('refuses a group address without recipients, saying who resolves them', async () => {
    const { spool } = await openSpool()
    await expect(spool.send({ fromAgent: 'ops', toAgent: '*', body: 'x' })).rejects.toThrow(
      /pass the recipients/,
    )
    await expect(
      spool.send({ fromAgent: 'ops', toAgent: 'capability:review', body: 'x' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })

  it('keeps a delayed message invisible until its time', async () => {
    const { spool, clock } = await openSpool()
    await spool.send(task('later'), { delaySeconds: 30 })
    await spool.send(task('at noon'), { notBefore: clock.now() + 60_000 })
    expect(await spool.claim('builder')).toEqual([])
    clock.advance(30_000)
    expect((await spool.claim('builder')).map((c) => c.message.body)).toEqual(['later'])
    clock.advance(30_000)
    expect((await spool.claim('builder')).map((c) => c.message.body)).toEqual(['at noon'])
  })

  it('never delivers a message past its TTL', async () => {
    const { spool, clock } = await openSpool()
    const { messageId } = await spool.send(task('stale soon', { routing: { ttlHours: 1 } }))
    clock.advance(3_600_000)
    expect(await spool.claim('builder')).toEqual([])
    expect((await spool.status(messageId)).deliveries[0]?.status).toBe('expired')
    expect((await spool.stats()).deliveries.expired).toBe(1)
  })

  it('never redelivers a leased message whose TTL ran out', async () => {
    const { spool, clock } = await openSpool()
    await spool.send(task('x', { routing: { ttlHours: 1 } }))
    await spool.claim('builder', { leaseSeconds: 60 })
    clock.advance(3_600_000)
    expect(await spool.claim('builder')).toEqual([])
  })

  it('rejects invalid messages and options with messages that name the field', async () => {
    const { spool } = await openSpool()
    await expect(spool.send({ ...task(), toAgent: '../etc' })).rejects.toThrow(/toAgent/)
    await expect(spool.send({ ...task(), priority: 'asap' as 'high' })).rejects.toThrow(
      /must be one of critical, high, normal, low/,
    )
    await expect(spool.send(task(), { delaySeconds: -1 })).rejects.toThrow(
      /delaySeconds: must not be negative/,
    )
    await expect(spool.send(task(), { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/)
    expect((await spool.stats()).totalMessages).toBe(0)
  })

  it('enforces a smaller body limit when the spool is configured with one', async () => {
    const { spool } = await openSpool({ maxBodyBytes: 10 })
    await expect(spool.send(task('x'.repeat(11)))).rejects.toThrow(/body: must be at most 10 bytes/)
    await expect(spool.send(task('x'.repeat(10)))).resolves.toMatchObject({ deliveries: 1 })
  })

  it('stores a batch atomically: one bad message and none is stored', async () => {
    const { spool } = await openSpool()
    await expect(
      spool.sendBatch([{ message: task('ok') }, { message: { ...task(), fromAgent: '' } }]),
    ).rejects.toThrow(/Batch item 1/)
    expect((await spool.stats()).totalMessages).toBe(0)
    const results = await spool.sendBatch([{ message: task('a') }, { message: task('b') }])
    expect(results.map((r) => r.deliveries)).toEqual([1, 1])
  })

  it('acks a batch in one transaction', async () => {
    const { spool } = await openSpool()
    await spool.sendBatch(Array.from({ length: 5 }, (_, i) => ({ message: task(`m${i}`) })))
    const claimed = await spool.claim('builder', { limit: 5 })
    const acks = await spool.ackBatch(
      claimed.map((c) => ({ messageId: c.message.id, agent: 'builder', receipt: c.lease.receipt })),
    )
    expect(acks.every((a) => a.status === 'acked' && !a.alreadyAcked)).toBe(true)
    expect((await spool.stats()).deliveries.acked).toBe(5)
  })
})
