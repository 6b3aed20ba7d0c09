import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import { describe, expect, it } from 'vitest'
import {
  A2APushes,
  type HostLookup,
  isForbiddenAddress,
  PushAllowEntrySchema,
  pushUrlProblem,
  SqliteA2AStore,
} from '../src/index.js'

const { onCleanup, tempDir } = testCleanups('agent-comm-a2a-test-')

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
    const dir = tempDir('agent-comm-a2a-push-')
    const spool = await Spool.open({ path: join(dir, 'relay.db') })
    onCleanup(() => spool.close())
    const store = spool.openShared(SqliteA2AStore.shared())
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
  it('allows CIDR ranges and IP literals of the allow-list, and parses allow-list entries', async () => {
    const lookup = resolver({ 'inside.test': ['10.20.1.5'], 'v6.test': ['fd00::5'] })
    const policy = { allowHosts: ['10.20.0.0/16', 'fd00::/8', '192.168.1.1'] }
    expect(await pushUrlProblem('https://inside.test/hook', policy, lookup)).toBeUndefined()
    expect(await pushUrlProblem('https://v6.test/hook', policy, lookup)).toBeUndefined()
    expect(await pushUrlProblem('http://192.168.1.1/hook', policy, lookup)).toBeUndefined()
    expect((await pushUrlProblem('http://192.168.1.2/hook', policy, lookup))?.reason).toMatch(
      /--a2a-push-allow/,
    )
    expect((await pushUrlProblem('http://10.21.0.1/hook', policy, lookup))?.reason).toMatch(/private/)
    for (const entry of ['10.0.0.0/8', 'fd00::/8', '127.0.0.1', '::1', 'hooks.internal', 'localhost']) {
      expect(PushAllowEntrySchema.safeParse(entry).success, entry).toBe(true)
    }
    for (const entry of ['10.0.0.0/33', 'fd00::/129', 'not a host', '', 'http://x/']) {
      expect(PushAllowEntrySchema.safeParse(entry).success, entry).toBe(false)
    }
  })

  it('connects to the address it checked: a resolver answering a public address, then loopback, is never followed', async () => {
    const dir = tempDir('agent-comm-a2a-pin-')
    const spool = await Spool.open({ path: join(dir, 'relay.db') })
    onCleanup(() => spool.close())
    const store = spool.openShared(SqliteA2AStore.shared())
    // The webhook an attacker wants reached: on this machine's loopback.
    const hosts: string[] = []
    const inside = createServer((request, response) => {
      hosts.push(request.headers.host ?? '')
      response.writeHead(200).end()
    })
    await new Promise<void>((resolve) => inside.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => inside.close(() => resolve())))
    const port = (inside.address() as AddressInfo).port
    // A rebinding resolver: public at the check, loopback for whoever asks again.
    let lookups = 0
    const rebinding: HostLookup = async () => {
      lookups++
      const address = lookups === 1 ? '203.0.113.9' : '127.0.0.1'
      return [{ address, family: 4 }]
    }
    const pushes = new A2APushes({
      store,
      clock: { now: () => 5000 },
      lookup: rebinding,
      timeoutMs: 500,
      retryBaseMs: 60_000,
    })
    const task = (id: string, url: string) =>
      store.insertTask(
        {
          id,
          caller: 'acme',
          agent: 'helper',
          contextId: `c-${id}`,
          messageId: `m-${id}`,
          state: 'submitted',
          task: { id },
          createdAt: 1000,
          updatedAt: 1000,
        },
        [{ task: { id } }],
        { taskId: id, id: 'h', config: { taskId: id, id: 'h', url } },
      )
    // `localhost`: whatever else resolved the name again (the system's resolver, or this one a second
    // time) would reach the loopback webhook.
    task('t1', `http://localhost:${port}/hook`)
    expect(await pushes.deliverDue()).toBe(0)
    expect(lookups).toBe(1)
    expect(hosts).toEqual([])
    // Not delivered: it waits for a retry (the checked address did not answer).
    expect(store.duePushes(10_000_000, 10).map((p) => p.attempts)).toEqual([1])

    // An allowed name that resolves inside is reached at its checked address, with its own Host header.
    const allowed = new A2APushes({
      store,
      clock: { now: () => 5000 },
      lookup: resolver({ 'hook.test': ['127.0.0.1'] }),
      policy: { allowHosts: ['127.0.0.0/8'] },
    })
    task('t2', `http://hook.test:${port}/hook`)
    expect(await allowed.deliverDue()).toBe(1)
    expect(hosts).toEqual([`hook.test:${port}`])
  })
  it('keeps the webhook host as the TLS server name when it connects to the pinned address', async () => {
    const dir = tempDir('agent-comm-a2a-tls-')
    // A certificate for hook.test only: the POST to the pinned 127.0.0.1 verifies only if it asks for
    // hook.test (SNI) and checks the certificate against that name.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=hook.test',
        '-addext',
        'subjectAltName=DNS:hook.test',
      ],
      { stdio: 'ignore' },
    )
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8')
    const names: (string | false | null)[] = []
    const server = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (request, response) => {
      names.push((request.socket as TLSSocket).servername)
      response.writeHead(200).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const port = (server.address() as AddressInfo).port
    const spool = await Spool.open({ path: join(dir, 'relay.db') })
    onCleanup(() => spool.close())
    const store = spool.openShared(SqliteA2AStore.shared())
    store.insertTask(
      {
        id: 't1',
        caller: 'acme',
        agent: 'helper',
        contextId: 'c1',
        messageId: 'm1',
        state: 'submitted',
        task: { id: 't1' },
        createdAt: 1000,
        updatedAt: 1000,
      },
      [{ task: { id: 't1' } }],
      { taskId: 't1', id: 'h', config: { taskId: 't1', id: 'h', url: `https://hook.test:${port}/hook` } },
    )
    const pushes = new A2APushes({
      store,
      clock: { now: () => 5000 },
      lookup: resolver({ 'hook.test': ['127.0.0.1'] }),
      policy: { allowHosts: ['127.0.0.1/32'] },
      ca: cert,
    })
    expect(await pushes.deliverDue()).toBe(1)
    expect(names).toEqual(['hook.test'])
  })
})
