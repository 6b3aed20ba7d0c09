import { once } from 'node:events'
import { Registry } from '@agent-comm/registry'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  applyPostgresMigrations,
  createNodePostgresClient,
  PostgresRegistryStore,
  type SqlClient,
} from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing.js'
import { startFixture } from './processes.js'

// The registry keeps profiles in memory on PostgreSQL too: the store's change token moves with every
// registry change it hears (pg_notify in the writing transaction, LISTEN here), in this process or another.
const db: TestDatabase = await createTestDatabase({ name: 'registry_cache' })
const onServer = db.kind === 'server'

/** A client counting the profile reads it runs (the registry store's only read with json_agg). */
function countingClient(client: SqlClient): { client: SqlClient; profileReads: () => number } {
  let reads = 0
  const count = (text: string) => {
    if (text.includes('json_agg')) reads++
  }
  return {
    client: {
      query: (text, params) => {
        count(text)
        return client.query(text, params)
      },
      transaction: (fn) =>
        client.transaction((tx) =>
          fn({
            query: (text, params) => {
              count(text)
              return tx.query(text, params)
            },
          }),
        ),
      listen: (channel, onNotify, onReconnect) => client.listen(channel, onNotify, onReconnect),
      end: () => client.end(),
    },
    profileReads: () => reads,
  }
}

let store: PostgresRegistryStore
let registry: Registry
let profileReads: () => number

beforeAll(async () => {
  if (!onServer) return
  const counting = countingClient(createNodePostgresClient({ url: db.url, poolSize: 2 }))
  profileReads = counting.profileReads
  await applyPostgresMigrations(counting.client, 'agent_comm')
  store = new PostgresRegistryStore({
    client: counting.client,
    schema: 'agent_comm',
    location: 'test',
    ownsClient: true,
  })
  registry = await Registry.open({ store })
})
afterAll(async () => {
  await registry?.close()
  await db.drop()
})

describe.skipIf(!onServer)('the registry cache on PostgreSQL', () => {
  it('answers get from memory until a registry change is heard, then reads the database again', async () => {
    await store.nextChange() // listening
    // The registration's own notification heard before counting, so the token holds still below.
    const own = store.nextChange()
    await registry.register({ agentId: 'builder', capabilities: ['code'] })
    await own
    const before = profileReads()
    expect((await registry.get('builder'))?.capabilities).toEqual(['code'])
    expect(profileReads()).toBe(before + 1)
    expect((await registry.get('builder'))?.capabilities).toEqual(['code'])
    expect(await registry.touch('builder')).toBe(true)
    expect(profileReads()).toBe(before + 1)
    // A write through this registry forgets memory at once, before its notification comes back.
    await registry.register({ agentId: 'builder', capabilities: ['code', 'review'] })
    expect((await registry.get('builder'))?.capabilities).toEqual(['code', 'review'])
  })

  it('sees a registration made by another process in the next get once its notification is heard', async () => {
    // Our own registration's notification heard first, so the wait below is for the other process's.
    const own = store.nextChange()
    await registry.register({ agentId: 'reviewer', capabilities: ['review'] })
    await own
    expect((await registry.get('reviewer'))?.capabilities).toEqual(['review'])
    const reads = profileReads()
    expect((await registry.get('reviewer'))?.device).not.toBe('other-process')
    expect(profileReads()).toBe(reads) // from memory
    const heard = store.nextChange()
    const other = startFixture('register.mjs', [db.url, 'reviewer', 'security'])
    const [code] = await once(other.child, 'close')
    expect(code).toBe(0)
    await heard
    const seen = await registry.get('reviewer')
    expect(seen?.capabilities).toEqual(['security'])
    expect(seen?.device).toBe('other-process')
    expect(profileReads()).toBe(reads + 1)
  })

  it('hands out a new token on every call until the LISTEN took effect', async () => {
    const counting = countingClient(createNodePostgresClient({ url: db.url, poolSize: 1 }))
    const fresh = new PostgresRegistryStore({
      client: counting.client,
      schema: 'agent_comm',
      location: 'test',
      ownsClient: true,
    })
    try {
      const first = fresh.changeToken()
      const listening = fresh.nextChange()
      expect(fresh.changeToken()).not.toBe(first)
      await listening
      const token = fresh.changeToken()
      expect(fresh.changeToken()).toBe(token)
      const changed = fresh.nextChange()
      await registry.heartbeat('builder')
      await changed
      expect(fresh.changeToken()).not.toBe(token)
    } finally {
      await fresh.close()
    }
  })
})
