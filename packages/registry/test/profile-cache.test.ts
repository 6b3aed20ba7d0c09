import { describe, expect, it } from 'vitest'
import { Registry, SqliteRegistryStore } from '../src/index.js'
import { onCleanup, openRegistry } from './helpers.js'

/** A second registry on its own connection to the same file, as another process would have. */
async function otherConnection(path: string): Promise<Registry> {
  const registry = await Registry.open({ path })
  onCleanup(() => registry.close())
  return registry
}

describe('profiles kept in memory, invalidated by the store’s change token', () => {
  it('sees a registration and a deregistration committed by another connection at once', async () => {
    const { registry, path } = await openRegistry()
    const other = await otherConnection(path)
    expect(await registry.get('builder')).toBeUndefined()
    await other.register({ agentId: 'builder', capabilities: ['code'] })
    expect((await registry.get('builder'))?.capabilities).toEqual(['code'])
    await other.register({ agentId: 'builder', capabilities: ['review'] })
    expect((await registry.get('builder'))?.capabilities).toEqual(['review'])
    await other.deregister('builder')
    expect(await registry.get('builder')).toBeUndefined()
    expect(await registry.touch('builder')).toBe(false)
  })

  it('sees the writes of another registry sharing its connection', async () => {
    const { registry, spool } = await openRegistry()
    const shared = await Registry.open({ spool })
    onCleanup(() => shared.close())
    await registry.register({ agentId: 'builder' })
    expect(await shared.get('builder')).toBeDefined()
    await registry.deregister('builder')
    expect(await shared.get('builder')).toBeUndefined()
    expect(await shared.touch('builder')).toBe(false)
  })

  it('answers from memory after a write of its own, with the row as written', async () => {
    const { registry, clock } = await openRegistry()
    await registry.register({ agentId: 'builder' })
    expect(await registry.touch('builder')).toBe(true)
    await registry.setOffline('builder')
    expect((await registry.get('builder'))?.status).toBe('offline')
    clock.advance(5_000)
    expect(await registry.touch('builder')).toBe(true)
    expect((await registry.get('builder'))?.status).toBe('offline')
    await registry.heartbeat('builder')
    expect((await registry.get('builder'))?.status).toBe('active')
    expect((await registry.get('builder'))?.lastSeen).toBe(new Date(clock.now()).toISOString())
  })

  it('changes its SQLite change token on every commit, of this connection or another', async () => {
    const { path, spool } = await openRegistry()
    const store = await spool.openShared(SqliteRegistryStore.shared())
    onCleanup(() => store.close())
    const other = await otherConnection(path)
    const first = store.changeToken()
    expect(store.changeToken()).toBe(first)
    await other.register({ agentId: 'builder' })
    const second = store.changeToken()
    expect(second).not.toBe(first)
    await store.touch({ agentId: 'builder', now: Date.now() })
    expect(store.changeToken()).not.toBe(second)
  })
})
