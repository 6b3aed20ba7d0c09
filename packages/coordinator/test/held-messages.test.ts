import { ManualClock } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fakeHttpTransport, openCoordinator } from './helpers.js'

describe('group sends held for future recipients', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('without the option, a capability nobody has is still refused and nothing is stored', async () => {
    const { coord } = await openCoordinator()
    await expect(
      coord.send({ fromAgent: 'boss', toAgent: 'capability:review', body: 'x' }),
    ).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
    expect((await coord.stats()).totalMessages).toBe(0)
  })

  it('stores a message nobody can take yet, shows it held, and delivers it to each later holder once', async () => {
    const { coord } = await openCoordinator()
    const sent = await coord.send(
      { fromAgent: 'boss', toAgent: 'capability:review', body: 'please review' },
      { holdForFutureRecipients: true },
    )
    expect(sent).toMatchObject({ deliveries: 0, recipients: [], heldUntil: expect.any(String) })
    expect(await coord.status(sent.messageId)).toMatchObject({ heldUntil: sent.heldUntil, deliveries: [] })

    await coord.register({ agentId: 'r1', capabilities: ['review'] })
    await coord.register({ agentId: 'r2', capabilities: ['review'] })
    await coord.register({ agentId: 'r1', capabilities: ['review', 'code'] })
    await coord.register({ agentId: 'boss', capabilities: ['review'] })
    for (const agent of ['r1', 'r2']) {
      const [claimed] = await coord.poll(agent)
      expect(claimed?.message.body).toBe('please review')
      await coord.ack(claimed!)
    }
    expect(await coord.poll('r1')).toEqual([])
    expect(await coord.poll('boss')).toEqual([])
    const status = await coord.status(sent.messageId)
    expect(status.deliveries.map((d) => [d.recipient, d.status])).toEqual([
      ['r1', 'acked'],
      ['r2', 'acked'],
    ])
  })

  it('delivers to current holders now and keeps holding for later ones until the message expires', async () => {
    const { coord, clock } = await openCoordinator()
    await coord.register({ agentId: 'now', capabilities: ['review'] })
    const sent = await coord.send(
      { fromAgent: 'boss', toAgent: 'capability:review', body: 'x', routing: { ttlHours: 1 } },
      { holdForFutureRecipients: true },
    )
    expect(sent).toMatchObject({ deliveries: 1, recipients: ['now'] })
    clock.advance(30 * 60_000)
    await coord.register({ agentId: 'soon', capabilities: ['review'] })
    clock.advance(30 * 60_000)
    await coord.register({ agentId: 'late', capabilities: ['review'] })
    expect((await coord.status(sent.messageId)).deliveries.map((d) => d.recipient)).toEqual(['now', 'soon'])
    expect(await coord.poll('late')).toEqual([])
  })

  it('holds a message whose current holders are all remote, without handing it to them twice locally', async () => {
    const clock = new ManualClock()
    const http = await fakeHttpTransport(clock)
    const { coord } = await openCoordinator({ clock, http: () => http.transport })
    await coord.register({
      agentId: 'far',
      capabilities: ['review'],
      transport: 'http',
      relayUrl: 'http://relay.test',
    })
    const sent = await coord.send(
      { fromAgent: 'boss', toAgent: '*', body: 'x' },
      { holdForFutureRecipients: true },
    )
    expect(http.sends).toEqual([['far']])
    expect(sent.heldUntil).toBeDefined()
    await coord.register({ agentId: 'near' })
    const [claimed] = await coord.poll('near')
    expect(claimed?.message.id).toBe(sent.messageId)
  })

  it('reaches an agent that registers while the send is under way', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'first' })
    // The newcomer registers after the send read the registry and before the hold is stored: its own
    // registration finds nothing held, so the send must pick it up.
    const list = Registry.prototype.list
    let calls = 0
    vi.spyOn(Registry.prototype, 'list').mockImplementation(async function (this: Registry, filter) {
      const agents = await list.call(this, filter)
      if (calls++ === 0) await coord.register({ agentId: 'newcomer' })
      return agents
    })
    const sent = await coord.send(
      { fromAgent: 'boss', toAgent: '*', body: 'x' },
      { holdForFutureRecipients: true },
    )
    expect(sent.recipients).toEqual(['first'])
    expect((await coord.status(sent.messageId)).deliveries.map((d) => d.recipient)).toEqual([
      'first',
      'newcomer',
    ])
  })

  it('refuses to hold a direct message', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await expect(
      coord.send({ fromAgent: 'boss', toAgent: 'builder', body: 'x' }, { holdForFutureRecipients: true }),
    ).rejects.toMatchObject({ code: 'VALIDATION' })
  })
})
