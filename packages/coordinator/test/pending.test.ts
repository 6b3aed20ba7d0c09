import { describe, expect, it } from 'vitest'
import { openCoordinator, tempDir } from './helpers.js'

describe('Coordinator.pending', () => {
  it('lists what waits for an agent, leased included, without claiming anything', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'architect' })
    await coord.register({ agentId: 'builder' })
    const first = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'one' })
    const urgent = await coord.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      body: 'two',
      priority: 'high',
    })
    const peeked = await coord.pending('builder')
    expect(peeked.map((p) => p.message.id)).toEqual([urgent.messageId, first.messageId])
    expect(peeked.every((p) => p.delivery.status === 'queued')).toBe(true)
    // Peeking took nothing: a poll still gets both, and afterwards they show as leased.
    expect(await coord.poll('builder')).toHaveLength(2)
    expect((await coord.pending('builder')).map((p) => p.delivery.status)).toEqual(['leased', 'leased'])
    expect(await coord.pending('builder', { limit: 1 })).toHaveLength(1)
  })

  it('refuses an unregistered name with nothing waiting, as poll does', async () => {
    const { coord } = await openCoordinator()
    await expect(coord.pending('nobody')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
  })

  it('refuses an agent on the file transport, whose inbox it cannot read without claiming', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'watcher', transport: 'file', inboxDir: tempDir() })
    await expect(coord.pending('watcher')).rejects.toMatchObject({
      code: 'VALIDATION',
      hint: 'Claim its messages instead: agent-comm poll watcher',
    })
  })
})
