import { expect, it } from 'vitest'
import type { ContractContext } from '../context.js'

const isoTime = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/)

/** What a send stores: duplicates, broadcast fan-out, time to live, and the status it reports. */
export function sendingCases(ctx: ContractContext): void {
  it('reports a duplicate send', async () => {
    const t = ctx.transport
    const message = ctx.message()
    expect(await t.send(message)).toMatchObject({ duplicate: false, deliveries: 1 })
    expect(await t.send(message)).toMatchObject({ messageId: message.id, duplicate: true, deliveries: 0 })
    const [claimed] = await t.claim('builder')
    await t.ack(message.id, 'builder', { receipt: claimed!.lease.receipt })
    expect(await t.send(message)).toMatchObject({ duplicate: true, deliveries: 0 })
    expect(await t.claim('builder')).toEqual([])
    expect((await t.status(message.id)).deliveries).toHaveLength(1)
  })

  it('fans a broadcast out to the given recipients', async () => {
    const t = ctx.transport
    const recipients = ['builder', 'reviewer', 'tester']
    const sent = await t.send(ctx.message({ toAgent: '*', body: 'standup in 5' }), { recipients })
    expect(sent).toMatchObject({ duplicate: false, deliveries: 3 })
    expect([...sent.recipients].sort()).toEqual(recipients)
    for (const agent of recipients) {
      const claimed = await t.claim(agent)
      expect(claimed.map((c) => [c.message.id, c.lease.recipient])).toEqual([[sent.messageId, agent]])
    }
    expect(await t.claim('architect')).toEqual([])
    const [again] = await t.claim('builder')
    expect(again).toBeUndefined()
    await t.ack(sent.messageId, 'builder')
    const { deliveries } = await t.status(sent.messageId)
    expect(deliveries.map((d) => [d.recipient, d.status]).sort()).toEqual([
      ['builder', 'acked'],
      ['reviewer', 'leased'],
      ['tester', 'leased'],
    ])
  })

  it('fans a capability target out to the given recipients', async () => {
    const t = ctx.transport
    const sent = await t.send(ctx.message({ toAgent: 'capability:review' }), {
      recipients: ['reviewer', 'lead'],
    })
    expect(sent.deliveries).toBe(2)
    expect(await t.claim('reviewer')).toHaveLength(1)
    expect(await t.claim('lead')).toHaveLength(1)
  })

  it('never delivers a message past its TTL', async () => {
    const t = ctx.transport
    const retried = await ctx.send({ body: 'claimed and nacked', routing: { ttlHours: 1 } })
    const waiting = await ctx.send({ body: 'never claimed', routing: { ttlHours: 1 } })
    const [claimed] = await t.claim('builder', { limit: 1 })
    expect(claimed?.message.id).toBe(retried.messageId)
    await t.nack(retried.messageId, 'builder', { reason: 'later' })
    ctx.clock.advance(3_599_999)
    expect(await t.waitForMessages('builder', { timeoutMs: 0 })).toBe(true)
    ctx.clock.advance(1)
    expect(await t.claim('builder', { limit: 10 })).toEqual([])
    expect(await t.waitForMessages('builder', { timeoutMs: 0 })).toBe(false)
    for (const id of [retried.messageId, waiting.messageId]) {
      expect((await t.status(id)).deliveries[0]?.status).toBe('expired')
    }
  })

  it('does not redeliver an expired message whose lease ran out', async () => {
    const t = ctx.transport
    const { messageId } = await ctx.send({ routing: { ttlHours: 1 } })
    await t.claim('builder', { leaseSeconds: 60 })
    ctx.clock.advance(3_600_000)
    expect(await t.claim('builder')).toEqual([])
    expect((await t.status(messageId)).deliveries[0]?.status).toBe('expired')
  })

  it('reports a message and every delivery of it in status', async () => {
    const t = ctx.transport
    const message = ctx.message({ toAgent: '*', priority: 'high', metadata: { ticket: 42 } })
    await t.send(message, { recipients: ['builder', 'reviewer'] })
    const status = await t.status(message.id)
    expect(status.message).toEqual(message)
    expect(status.deliveries).toHaveLength(2)
    for (const delivery of status.deliveries) {
      expect(delivery).toEqual({
        recipient: expect.any(String),
        status: 'queued',
        attempt: 0,
        maxAttempts: 3,
        leaseUntil: null,
        availableAt: isoTime,
        lastError: null,
        createdAt: isoTime,
        updatedAt: isoTime,
        ackedAt: null,
      })
      expect(Date.parse(delivery.createdAt)).toBe(ctx.clock.now())
    }
    expect(status.deliveries.map((d) => d.recipient).sort()).toEqual(['builder', 'reviewer'])
    await expect(t.status('msg_unknown')).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
  })

  it('rejects an invalid message with a validation error and stores nothing', async () => {
    const t = ctx.transport
    const message = { ...ctx.message(), fromAgent: 'not an agent id' }
    await expect(t.send(message)).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(t.status(message.id)).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
    expect(await t.claim('builder')).toEqual([])
  })
}
