import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Spool, sqliteConnection } from '@agent-comm/spool'
import { afterEach, describe, expect, it } from 'vitest'
import {
  A2APushes,
  type HostLookup,
  isForbiddenAddress,
  pushUrlProblem,
  SqliteA2AStore,
} from '../src/index.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A resolver that answers from a table (the test's DNS). */
function resolver(table: Record<string, string[]>): HostLookup {
  return async (host) => {
    const addresses = table[host]
    if (addresses === undefined) throw Object.assign(new Error(`no ${host}`), { code: 'ENOTFOUND' })
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
}

describe('push notification URLs', () => {
  it('classifies loopback, private, link-local, unspecified and multicast addresses as forbidden', () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '::',
      '::1',
      'fd12::1',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isForbiddenAddress(address), address).toBe(true)
    }
    for (const address of ['203.0.113.7', '8.8.8.8', '2001:db8::1']) {
      expect(isForbiddenAddress(address), address).toBe(false)
    }
  })

  it('refuses a host when any of its addresses is internal, and allows listed hosts', async () => {
    const lookup = resolver({ 'mixed.test': ['203.0.113.7', '10.0.0.5'], 'public.test': ['203.0.113.8'] })
    expect((await pushUrlProblem('https://mixed.test/hook', {}, lookup))?.reason).toMatch(/at 10\.0\.0\.5/)
    expect(await pushUrlProblem('https://public.test/hook', {}, lookup)).toBeUndefined()
    expect(
      await pushUrlProblem('https://mixed.test/hook', { allowHosts: ['MIXED.test'] }, lookup),
    ).toBeUndefined()
    expect(await pushUrlProblem('http://[::1]:8/x', { allowHosts: ['::1'] }, lookup)).toBeUndefined()
    expect(await pushUrlProblem('http://10.0.0.1/x', { allowPrivate: true }, lookup)).toBeUndefined()
    expect((await pushUrlProblem('gopher://public.test/', { allowPrivate: true }, lookup))?.reason).toMatch(
      /must be http\(s\)/,
    )
    expect(await pushUrlProblem('https://nowhere.test/', {}, lookup)).toMatchObject({ unresolved: true })
  })

  it('checks the address again at delivery: a host that now resolves inside is given up, never POSTed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-comm-a2a-push-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const spool = await Spool.open({ path: join(dir, 'relay.db') })
    cleanups.push(() => spool.close())
    const store = SqliteA2AStore.open(sqliteConnection(spool))
    const table: Record<string, string[]> = { 'hook.test': ['203.0.113.9'] }
    let posts = 0
    const pushes = new A2APushes({
      store,
      clock: { now: () => 5000 },
      lookup: resolver(table),
      fetch: async () => {
        posts++
        return new Response(null, { status: 200 })
      },
    })
    const record = {
      id: 't1',
      caller: 'acme',
      agent: 'helper',
      contextId: 'c1',
      messageId: 'msg-t1',
      state: 'submitted' as const,
      task: { id: 't1' },
      createdAt: 1000,
      updatedAt: 1000,
    }
    const config = {
      taskId: 't1',
      id: 'h1',
      config: { taskId: 't1', id: 'h1', url: 'https://hook.test/a2a' },
    }
    expect(await pushes.urlProblem('https://hook.test/a2a')).toBeUndefined()
    await store.insertTask(record, [{ task: { id: 't1' } }], config)
    // DNS now points the host at the cloud metadata address (rebinding).
    table['hook.test'] = ['169.254.169.254']
    expect(await pushes.deliverDue()).toBe(0)
    expect(posts).toBe(0)
    // Given up at once: nothing is due any more.
    expect(await store.duePushes(10_000_000, 10)).toEqual([])
  })
})
