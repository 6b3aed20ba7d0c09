import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import { describe, expect, it } from 'vitest'
import { A2ATokens, agentCard, hashToken, isA2AAgent, parseSkillFlag, SqliteA2AStore } from '../src/index.js'

const { onCleanup, tempDir } = testCleanups('agent-comm-a2a-test-')

async function openStore() {
  const dir = tempDir('agent-comm-a2a-')
  const clock = new ManualClock(Date.UTC(2026, 10, 1))
  const spool = await Spool.open({ path: join(dir, 'relay.db'), clock })
  onCleanup(() => spool.close())
  return { spool, clock, store: spool.openShared(SqliteA2AStore.shared()) }
}

describe('caller tokens', () => {
  it('stores only the hash of a token, finds it by the token, and forgets it when revoked', async () => {
    const { store, clock } = await openStore()
    const tokens = new A2ATokens(store, { clock })
    const issued = await tokens.create('acme', { agents: ['helper'] })
    expect(issued.token).toMatch(/^a2a_[A-Za-z0-9_-]{43}$/)
    const [listed] = store.listTokens()
    expect(listed?.tokenHash).toBe(hashToken(issued.token))
    expect(JSON.stringify(store.listTokens())).not.toContain(issued.token)
    expect((await tokens.verify(issued.token))?.agents).toEqual(['helper'])
    expect(await tokens.verify('a2a_wrong')).toBeUndefined()
    expect(await tokens.revoke('acme')).toBe(true)
    expect(await tokens.verify(issued.token)).toBeUndefined()
    expect((await tokens.list())[0]?.revokedAt).toBe(new Date(clock.now()).toISOString())
  })

  it('refuses a second live token for the same caller, with the command that revokes the first', async () => {
    const { store } = await openStore()
    const tokens = new A2ATokens(store)
    await tokens.create('acme')
    await expect(tokens.create('acme')).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(tokens.create('bad name')).rejects.toMatchObject({ code: 'VALIDATION' })
  })
})

describe('agent cards', () => {
  it('opts an agent in with skills and builds its card from the profile', async () => {
    const { spool } = await openStore()
    const registry = await Registry.open({ spool })
    onCleanup(() => registry.close())
    const skill = parseSkillFlag('answer|Answer questions|qa,faq')
    const helper = await registry.register({ agentId: 'helper', metadata: { a2a: { skills: [skill] } } })
    const plain = await registry.register({ agentId: 'plain' })
    expect(isA2AAgent(helper)).toBe(true)
    expect(isA2AAgent(plain)).toBe(false)
    const card = agentCard(helper, { baseUrl: 'https://relay.test', version: '1.2.3' })
    expect(card.skills[0]).toMatchObject({ id: 'answer', name: 'Answer questions', tags: ['qa', 'faq'] })
    expect(card.supportedInterfaces[0]?.url).toBe('https://relay.test/a2a/helper')
  })
})
