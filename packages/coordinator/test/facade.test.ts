import { describe, expect, it } from 'vitest'
import { createCoordinator, loadConfig } from '../src/index.js'
import { openCoordinator } from './helpers.js'

describe('the coordinator façade', () => {
  it('looks agents up, lists them with a filter, records heartbeats and deregisters', async () => {
    const { coord, clock } = await openCoordinator()
    await coord.register({ agentId: 'builder', capabilities: ['code'] })
    await coord.register({ agentId: 'reviewer', capabilities: ['review'] })
    expect((await coord.agent('builder'))?.capabilities).toEqual(['code'])
    expect(await coord.agent('nobody')).toBeUndefined()
    expect((await coord.agents({ capability: 'review' })).map((a) => a.agentId)).toEqual(['reviewer'])
    clock.advance(60 * 60 * 1000)
    expect((await coord.agent('builder'))?.status).not.toBe('active')
    expect((await coord.heartbeat('builder')).status).toBe('active')
    await expect(coord.heartbeat('nobody')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
    await coord.deregister('reviewer')
    expect((await coord.agents()).map((a) => a.agentId)).toEqual(['builder'])
  })

  it('peeks at an inbox without claiming, and without refusing an unknown name', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    const sent = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'hi' })
    expect((await coord.peek('builder')).map((p) => p.message.id)).toEqual([sent.messageId])
    expect(await coord.peek('nobody')).toEqual([])
    await expect(coord.pending('nobody')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
    expect((await coord.poll('builder')).map((c) => c.message.id)).toEqual([sent.messageId])
  })

  it('tells where its stores keep their data, and wakes watchers when another connection commits', async () => {
    const { coord, root } = await openCoordinator()
    expect(coord.storage).toMatchObject({ spool: 'sqlite', registry: 'sqlite' })
    expect(coord.storage.path.startsWith(root)).toBe(true)
    const other = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: root }))
    try {
      let stop = () => {}
      const changed = new Promise<void>((resolve) => {
        stop = coord.watch(resolve)
      })
      await other.register({ agentId: 'builder' })
      await changed
      stop()
    } finally {
      await other.close()
    }
  })

  it('refuses every call once closed', async () => {
    const { coord } = await openCoordinator()
    await coord.close()
    await expect(coord.agents()).rejects.toMatchObject({ code: 'CLOSED' })
    expect(() => coord.watch(() => {})).toThrow()
  })
})
