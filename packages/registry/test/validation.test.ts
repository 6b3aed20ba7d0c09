import { ValidationError } from '@agent-comm/protocol'
import { Spool, type SpoolStore } from '@agent-comm/spool'
import { describe, expect, it } from 'vitest'
import { Registry } from '../src/index.js'
import { openRegistry } from './helpers.js'

/** The error `promise` rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ValidationError)
  return error as ValidationError
}

describe('validating registrations', () => {
  it('refuses an agent id with characters outside the allowed set, saying which', async () => {
    const { registry } = await openRegistry()
    const error = await rejection(registry.register({ agentId: 'code reviewer' }))
    expect(error.code).toBe('VALIDATION')
    expect(error.message).toBe(
      'Invalid agent profile: agentId: may contain only letters, digits and . _ : @ -',
    )
    expect(error.issues).toEqual([
      { path: 'agentId', message: 'may contain only letters, digits and . _ : @ -' },
    ])
  })

  it('refuses agent ids that start with a reserved address prefix', async () => {
    const { registry } = await openRegistry()
    for (const agentId of ['capability:review', 'Capability:x', 'human:ada', 'a2a:peer', 'system:expiry']) {
      const error = await rejection(registry.register({ agentId }))
      expect(error.issues.map((i) => i.path)).toEqual(['agentId'])
      expect(error.message).toMatch(
        /agentId: must not start with '(capability|human|a2a|system):': it is reserved/,
      )
    }
    expect(await registry.list()).toEqual([])
    // The prefix anywhere else is fine.
    expect((await registry.register({ agentId: 'review-capability:1' })).agentId).toBe('review-capability:1')
  })

  it('refuses a relay URL with credentials in it, which every agent could read in the profile', async () => {
    const { registry } = await openRegistry()
    const error = await rejection(
      registry.register({
        agentId: 'remote',
        transport: 'http',
        relayUrl: 'https://relay-a.example.com,https://ops:hunter2@relay-b.example.com',
      }),
    )
    expect(error.issues).toEqual([
      { path: 'relayUrl', message: expect.stringContaining('must not contain credentials (user:password@)') },
    ])
    expect(JSON.stringify(error)).not.toContain('hunter2')
    expect(await registry.list()).toEqual([])
  })

  it.each([
    [
      'a password the URL parser would read as a port and a fragment',
      'https://ops:12#hunter2@relay.example.com',
    ],
    ['a token query parameter', 'https://relay.example.com/?token=hunter2'],
  ])('refuses a relay URL with %s, which every agent could read in the profile', async (_what, relayUrl) => {
    const { registry } = await openRegistry()
    const error = await rejection(registry.register({ agentId: 'remote', transport: 'http', relayUrl }))
    expect(error.issues).toEqual([
      { path: 'relayUrl', message: expect.stringContaining('must not contain credentials') },
    ])
    expect(JSON.stringify(error)).not.toContain('hunter2')
    expect(await registry.list()).toEqual([])
  })

  it('refuses an agent id that would read as an option on a command line', async () => {
    const { registry } = await openRegistry()
    const error = await rejection(registry.register({ agentId: '-x' }))
    expect(error.message).toBe(
      "Invalid agent profile: agentId: must not start with '-': it would read as an option",
    )
    expect(error.hint).toBe("Choose another name, e.g. 'x'.")
    // A dash anywhere else is fine.
    expect((await registry.register({ agentId: 'agent-x' })).agentId).toBe('agent-x')
  })

  it('refuses an empty or missing agent id', async () => {
    const { registry } = await openRegistry()
    expect((await rejection(registry.register({ agentId: '' }))).message).toContain(
      'agentId: must not be empty',
    )
    const missing = await rejection(registry.register({} as never))
    expect(missing.issues.map((i) => i.path)).toEqual(['agentId'])
  })

  it('requires a relay URL for an http agent', async () => {
    const { registry } = await openRegistry()
    const error = await rejection(registry.register({ agentId: 'remote', transport: 'http' }))
    expect(error.message).toBe(
      "Invalid agent profile: relayUrl: is required for transport 'http': give the relay's base URL, e.g. https://relay.example.com",
    )
    expect(error.issues.map((i) => i.path)).toEqual(['relayUrl'])
  })

  it('requires the relay URL to be http(s)', async () => {
    const { registry } = await openRegistry()
    const error = await rejection(
      registry.register({ agentId: 'remote', transport: 'http', relayUrl: 'ftp://relay.example.com' }),
    )
    expect(error.message).toContain('relayUrl: must be an http(s) URL')
  })

  it('requires an inbox folder for a file agent', async () => {
    const { registry } = await openRegistry()
    const error = await rejection(registry.register({ agentId: 'offline-box', transport: 'file' }))
    expect(error.message).toBe(
      "Invalid agent profile: inboxDir: is required for transport 'file': give the folder the agent reads its messages from",
    )
  })

  it('needs neither a relay URL nor an inbox folder for a sqlite agent', async () => {
    const { registry } = await openRegistry()
    const profile = await registry.register({ agentId: 'local', transport: 'sqlite' })
    expect(profile).not.toHaveProperty('relayUrl')
    expect(profile).not.toHaveProperty('inboxDir')
  })

  it('refuses a relay URL or an inbox folder that the transport would never use, storing nothing', async () => {
    const { registry } = await openRegistry()
    const relayOnLocal = await rejection(
      registry.register({ agentId: 'remote', relayUrl: 'https://relay.example.com' }),
    )
    expect(relayOnLocal.issues.map((i) => i.path)).toEqual(['relayUrl'])
    expect(relayOnLocal.message).toContain("relayUrl: is only used by transport 'http', not 'sqlite'")
    const folderOnRelay = await rejection(
      registry.register({
        agentId: 'remote',
        transport: 'http',
        relayUrl: 'https://relay.example.com',
        inboxDir: '/srv/inbox',
      }),
    )
    expect(folderOnRelay.issues.map((i) => i.path)).toEqual(['inboxDir'])
    expect(folderOnRelay.message).toContain("inboxDir: is only used by transport 'file', not 'http'")
    expect(await registry.get('remote')).toBeUndefined()
  })

  it('refuses an unknown transport, listing the valid ones', async () => {
    const { registry } = await openRegistry()
    const error = await rejection(registry.register({ agentId: 'builder', transport: 'pigeon' as 'http' }))
    expect(error.message).toBe('Invalid agent profile: transport: must be one of sqlite, http, file')
  })

  it('refuses a malformed capability, naming its position', async () => {
    const { registry } = await openRegistry()
    const error = await rejection(
      registry.register({ agentId: 'builder', capabilities: ['code', 'code review'] }),
    )
    expect(error.message).toBe(
      'Invalid agent profile: capabilities.1: may contain only letters, digits and . _ : @ / -',
    )
  })

  it('reports every problem at once', async () => {
    const { registry } = await openRegistry()
    const error = await rejection(registry.register({ agentId: 'bad id', transport: 'file', device: '' }))
    expect(error.issues.map((i) => i.path).sort()).toEqual(['agentId', 'device', 'inboxDir'])
  })

  it('stores nothing when a registration is refused', async () => {
    const { registry } = await openRegistry()
    await registry.register({ agentId: 'remote', capabilities: ['review'] })
    await rejection(registry.register({ agentId: 'remote', capabilities: ['deploy'], transport: 'http' }))
    expect(await registry.require('remote')).toMatchObject({ capabilities: ['review'], transport: 'sqlite' })
  })
})

describe('validating lookups and options', () => {
  it('refuses a malformed agent id on lookups instead of silently finding nothing', async () => {
    const { registry } = await openRegistry()
    expect((await rejection(registry.get('not an id'))).message).toContain('Invalid agent id')
    await rejection(registry.touch(''))
  })

  it('refuses a misspelt or invalid list filter', async () => {
    const { registry } = await openRegistry()
    const typo = await rejection(registry.list({ capabilities: 'code' } as never))
    expect(typo.message).toContain('Unrecognized key: "capabilities"')
    const status = await rejection(registry.list({ status: 'asleep' as 'active' }))
    expect(status.message).toBe('Invalid agent filter: status: must be one of active, inactive, offline')
    await rejection(registry.findByCapability(''))
  })

  it('refuses to open without a store, a spool or a path, or with two of them', async () => {
    const { spool, registry } = await openRegistry()
    expect((await rejection(Registry.open({}))).message).toContain(
      'give store (e.g. from @agent-comm/postgres), spool (a spool on SQLite, to share its file) or path',
    )
    expect((await rejection(Registry.open({ store: registry.store, path: spool.path }))).message).toContain(
      'give one of store',
    )
    expect((await rejection(Registry.open({ store: registry.store, spool }))).message).toContain(
      'give one of store',
    )
    expect((await rejection(Registry.open({ spool, path: spool.path }))).message).toContain(
      'give one of store',
    )
  })

  it('shares the SQLite file of a spool given as spool, and refuses a spool on another store', async () => {
    const { spool, registry } = await openRegistry()
    await registry.register({ agentId: 'shared' })
    const onSpool = await Registry.open({ spool })
    expect((await onSpool.require('shared')).agentId).toBe('shared')
    await onSpool.close()
    // A spool on a store that is not SQLite: nothing of it is used before the refusal.
    const elsewhere = { kind: 'postgres', location: 'postgres://db.example/x', close: async () => {} }
    const onPostgres = await Spool.open({ store: elsewhere as unknown as SpoolStore })
    const error = await rejection(Registry.open({ spool: onPostgres }))
    await onPostgres.close()
    expect(error).toMatchObject({ code: 'VALIDATION' })
    expect(error.message).toContain('on the postgres store')
    expect(error.message).toContain('the registry cannot keep its tables')
  })

  it('refuses presence windows where offline would come before inactive', async () => {
    const { spool } = await openRegistry()
    const error = await rejection(Registry.open({ spool, activeWindowMs: 60_000, offlineAfterMs: 30_000 }))
    expect(error.message).toBe('Invalid registry options: offlineAfterMs: must be longer than activeWindowMs')
    await rejection(Registry.open({ spool, activeWindowMs: -1 }))
  })
})
