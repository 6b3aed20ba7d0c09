import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { describe, expect, it } from 'vitest'
import { hours, onCleanup, openRegistry, tempDir } from './helpers.js'
import { runFixture } from './processes.js'

/** The deliveries of message `id` in the spool's file, by recipient. */
function recipientsOf(spool: Spool, id: string): string[] {
  return sqliteConnectionOf(spool)
    .prepare(
      'SELECT recipient FROM deliveries WHERE message_seq = (SELECT seq FROM messages WHERE id = ?) ORDER BY recipient',
    )
    .pluck()
    .all(id) as string[]
}

describe('held group messages and registration', () => {
  it('hands a held capability message to an agent that registers with the capability later', async () => {
    const { registry, spool } = await openRegistry()
    const held = await spool.hold({ fromAgent: 'boss', toAgent: 'capability:review', body: 'please review' })
    expect((await spool.status(held.messageId)).deliveries).toEqual([])

    await registry.register({ agentId: 'reviewer', capabilities: ['review'] })
    const [claimed] = await spool.claim('reviewer')
    expect(claimed?.message).toMatchObject({ id: held.messageId, body: 'please review' })
  })

  it('gives each later holder one delivery, and a re-registration none more', async () => {
    const { registry, spool } = await openRegistry()
    const held = await spool.hold({ fromAgent: 'boss', toAgent: 'capability:review', body: 'x' })
    await registry.register({ agentId: 'a', capabilities: ['review'] })
    await registry.register({ agentId: 'b', capabilities: ['code', 'review'] })
    await registry.register({ agentId: 'a', capabilities: ['review'], device: 'laptop' })
    await registry.register({ agentId: 'b', capabilities: ['review'] })
    expect(recipientsOf(spool, held.messageId)).toEqual(['a', 'b'])
    // Acked, then re-registered: still not handed out again.
    const [claimed] = await spool.claim('a')
    await spool.ack(claimed!.message.id, 'a', { receipt: claimed!.lease.receipt })
    await registry.register({ agentId: 'a', capabilities: ['review'] })
    expect(await spool.claim('a')).toEqual([])
  })

  it('releases on a re-registration that adds the capability, and holds broadcasts for every newcomer', async () => {
    const { registry, spool } = await openRegistry()
    await registry.register({ agentId: 'a', capabilities: ['code'] })
    const review = await spool.hold({ fromAgent: 'boss', toAgent: 'capability:review', body: 'r' })
    const all = await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'everyone' })
    await registry.register({ agentId: 'c', capabilities: [] })
    expect(recipientsOf(spool, all.messageId)).toEqual(['c'])
    expect(recipientsOf(spool, review.messageId)).toEqual([])
    await registry.register({ agentId: 'a', capabilities: ['code', 'review'] })
    expect(recipientsOf(spool, review.messageId)).toEqual(['a'])
    expect(recipientsOf(spool, all.messageId)).toEqual(['a', 'c'])
  })

  it('never hands a held message to its sender', async () => {
    const { registry, spool } = await openRegistry()
    const held = await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'x' })
    await registry.register({ agentId: 'boss', capabilities: ['review'] })
    expect(recipientsOf(spool, held.messageId)).toEqual([])
  })

  it('stops holding when the message expires', async () => {
    const { registry, spool, clock } = await openRegistry()
    const held = await spool.hold({
      fromAgent: 'boss',
      toAgent: 'capability:review',
      body: 'x',
      routing: { ttlHours: 2 },
    })
    expect((await spool.status(held.messageId)).heldUntil).toBe(held.heldUntil)
    clock.advance(hours(1))
    await registry.register({ agentId: 'early', capabilities: ['review'] })
    clock.advance(hours(1))
    await registry.register({ agentId: 'late', capabilities: ['review'] })
    expect(recipientsOf(spool, held.messageId)).toEqual(['early'])
    expect((await spool.status(held.messageId)).heldUntil).toBeUndefined()
  })

  it('does not write deliveries for agents that receive through a relay or a folder', async () => {
    const { registry, spool } = await openRegistry()
    const held = await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'x' })
    await registry.register({ agentId: 'remote', transport: 'http', relayUrl: 'http://relay.test' })
    expect(recipientsOf(spool, held.messageId)).toEqual([])
  })

  it("with releaseHeldTo: 'all-agents' (a relay) releases to agents of every transport", async () => {
    const { registry, spool } = await openRegistry({ releaseHeldTo: 'all-agents' })
    const held = await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'x' })
    await registry.register({ agentId: 'remote', transport: 'http', relayUrl: 'http://relay.test' })
    expect(recipientsOf(spool, held.messageId)).toEqual(['remote'])
    await expect(openRegistry({ releaseHeldTo: 'everyone' as 'all-agents' })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })

  it('gives one delivery when two processes register the same agent at once', async () => {
    const path = join(tempDir(), 'shared.db')
    const spool = await Spool.open({ path })
    onCleanup(() => spool.close())
    const held = await spool.hold({ fromAgent: 'boss', toAgent: 'capability:common', body: 'x' })
    const reports = await Promise.all(
      ['alpha', 'beta'].map((writer) =>
        runFixture<{ registered: number; errors: unknown[] }>('register-many.mjs', [
          path,
          'contested',
          writer,
          '20',
          '2',
        ]),
      ),
    )
    for (const report of reports) expect(report.errors).toEqual([])
    expect(recipientsOf(spool, held.messageId)).toEqual(['contested'])
  })
})
