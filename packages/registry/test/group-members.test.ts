import { describe, expect, it } from 'vitest'
import { openRegistry } from './helpers.js'

describe('groupMembers', () => {
  it('finds every agent for *, the capability holders for capability:<name>, never the sender', async () => {
    const { registry } = await openRegistry()
    await registry.register({ agentId: 'boss', capabilities: ['review'] })
    await registry.register({ agentId: 'alice', capabilities: ['review'] })
    await registry.register({ agentId: 'bob', capabilities: ['code'] })
    const ids = async (to: string) => (await registry.groupMembers(to, 'boss'))?.map((a) => a.agentId)
    expect(await ids('*')).toEqual(['alice', 'bob'])
    expect(await ids('capability:review')).toEqual(['alice'])
    expect(await ids('capability:deploy')).toEqual([])
  })

  it('answers undefined for an address that names one agent', async () => {
    const { registry } = await openRegistry()
    await registry.register({ agentId: 'alice' })
    expect(await registry.groupMembers('alice', 'boss')).toBeUndefined()
  })
})
