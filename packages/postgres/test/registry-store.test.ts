import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  applyPostgresMigrations,
  dropPostgresSchema,
  openPostgres,
  PostgresRegistryStore,
  PostgresSpoolStore,
} from '../src/index.js'
import { HOLDS_LOCK_SQL } from '../src/store.js'
import { createTestDatabase, type TestDatabase } from '../src/testing.js'

const START = Date.UTC(2026, 1, 3, 14, 30)
const minutes = (n: number): number => n * 60_000
const hours = (n: number): number => n * 3_600_000

/** A spool and a registry on one store, sharing one clock, as the composition roots build them. */
interface Pair {
  spool: Spool
  registry: Registry
  clock: ManualClock
  /** A second registry on the same database (another "process"). */
  another(): Promise<Registry>
}

type Opener = () => Promise<Pair>

const { onCleanup, tempDir } = testCleanups('agent-comm-postgres-test-')

let db: TestDatabase | undefined
let schemas = 0
beforeAll(async () => {
  db = await createTestDatabase({ name: 'registry_store' })
})
afterAll(async () => {
  await db?.drop()
})

const openSqlite: Opener = async () => {
  const dir = tempDir('agent-comm-registry-store-')
  const clock = new ManualClock(START)
  const path = join(dir, 'coordination.db')
  const spool = await Spool.open({ path, clock, wakeIntervalMs: 600_000 })
  onCleanup(() => spool.close())
  const registry = await Registry.open({ spool, clock })
  onCleanup(() => registry.close())
  return {
    spool,
    registry,
    clock,
    async another() {
      const other = await Registry.open({ path, clock })
      onCleanup(() => other.close())
      return other
    },
  }
}

const openPostgresPair: Opener = async () => {
  // A schema of its own per test, in the file's database: the tests never see each other's agents.
  const schema = `reg_${++schemas}`
  const client = db!.client()
  const clock = new ManualClock(START)
  const spoolStore = new PostgresSpoolStore({ client, schema, location: 'test', ownsClient: false })
  await applyPostgresMigrations(client, schema)
  const spool = await Spool.open({ store: spoolStore, clock, wakeIntervalMs: 600_000 })
  onCleanup(() => spool.close())
  const registry = await Registry.open({
    store: new PostgresRegistryStore({ client, schema, location: 'test', ownsClient: false }),
    clock,
  })
  onCleanup(() => registry.close())
  return {
    spool,
    registry,
    clock,
    async another() {
      const other = await Registry.open({
        store: new PostgresRegistryStore({
          client: db!.client(),
          schema,
          location: 'test',
          ownsClient: true,
        }),
        clock,
      })
      onCleanup(() => other.close())
      return other
    },
  }
}

describe.each([
  ['SQLite', openSqlite],
  ['PostgreSQL', openPostgresPair],
])('the registry on %s', (_name, open: Opener) => {
  it('registers an agent and reads its profile back, capabilities in order and deduplicated', async () => {
    const { registry } = await open()
    const profile = await registry.register({
      agentId: 'builder',
      capabilities: ['code', 'review', 'code'],
      device: 'laptop',
      metadata: { team: 'a' },
    })
    expect(profile).toMatchObject({
      agentId: 'builder',
      capabilities: ['code', 'review'],
      device: 'laptop',
      transport: 'sqlite',
      status: 'active',
      metadata: { team: 'a' },
      lastSeen: new Date(START).toISOString(),
      registeredAt: new Date(START).toISOString(),
    })
    expect(await registry.get('builder')).toEqual(profile)
    expect(await registry.get('nobody')).toBeUndefined()
    await expect(registry.require('nobody')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
  })

  it('keeps registeredAt and replaces capabilities on a second registration', async () => {
    const { registry, clock } = await open()
    await registry.register({ agentId: 'a', capabilities: ['x', 'y'] })
    clock.advance(minutes(1))
    const again = await registry.register({ agentId: 'a', capabilities: ['z'], device: 'other' })
    expect(again.capabilities).toEqual(['z'])
    expect(again.device).toBe('other')
    expect(again.registeredAt).toBe(new Date(START).toISOString())
    expect(again.lastSeen).toBe(new Date(START + minutes(1)).toISOString())
    expect(await registry.findByCapability('x')).toEqual([])
  })

  it('lists by capability, device, transport and derived status, ordered by id', async () => {
    const { registry, clock } = await open()
    await registry.register({ agentId: 'c', capabilities: ['review'], device: 'd1' })
    await registry.register({ agentId: 'a', capabilities: ['review', 'code'], device: 'd2' })
    await registry.register({
      agentId: 'b',
      capabilities: ['code'],
      device: 'd1',
      transport: 'http',
      relayUrl: 'http://relay.example:8420',
    })
    expect((await registry.list()).map((p) => p.agentId)).toEqual(['a', 'b', 'c'])
    expect((await registry.findByCapability('review')).map((p) => p.agentId)).toEqual(['a', 'c'])
    expect((await registry.list({ device: 'd1' })).map((p) => p.agentId)).toEqual(['b', 'c'])
    expect((await registry.list({ transport: 'http' })).map((p) => p.agentId)).toEqual(['b'])
    expect((await registry.list({ capability: 'code', device: 'd1' })).map((p) => p.agentId)).toEqual(['b'])
    clock.advance(minutes(10))
    await registry.heartbeat('c')
    expect((await registry.list({ status: 'active' })).map((p) => p.agentId)).toEqual(['c'])
    expect((await registry.list({ status: 'inactive' })).map((p) => p.agentId)).toEqual(['a', 'b'])
    await registry.setOffline('a')
    expect((await registry.list({ status: 'offline' })).map((p) => p.agentId)).toEqual(['a'])
    clock.advance(hours(25))
    expect((await registry.list({ status: 'offline' })).map((p) => p.agentId)).toEqual(['a', 'b', 'c'])
  })

  it('derives presence from lastSeen: touch refreshes it, setOffline holds until a heartbeat', async () => {
    const { registry, clock } = await open()
    await registry.register({ agentId: 'a' })
    clock.advance(minutes(6))
    expect((await registry.require('a')).status).toBe('inactive')
    expect(await registry.touch('a')).toBe(true)
    expect((await registry.require('a')).status).toBe('active')
    expect(await registry.touch('nobody')).toBe(false)
    await registry.setOffline('a')
    clock.advance(minutes(1))
    await registry.touch('a')
    expect((await registry.require('a')).status).toBe('offline')
    expect((await registry.heartbeat('a')).status).toBe('active')
    await expect(registry.heartbeat('nobody')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
    await expect(registry.setOffline('nobody')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
  })

  it('deregisters an agent with its capabilities, and refuses an unknown one', async () => {
    const { registry } = await open()
    await registry.register({ agentId: 'a', capabilities: ['review'] })
    await registry.deregister('a')
    expect(await registry.get('a')).toBeUndefined()
    expect(await registry.findByCapability('review')).toEqual([])
    await expect(registry.deregister('a')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
  })

  it('hands a held capability message to a later registrant once, in the registration, and wakes a waiter', async () => {
    const { registry, spool } = await open()
    const held = await spool.hold({ fromAgent: 'boss', toAgent: 'capability:review', body: 'please review' })
    const woken = spool.waitForMessages('reviewer', { timeoutMs: 120_000 })
    await registry.register({ agentId: 'reviewer', capabilities: ['review'] })
    expect(await woken).toBe(true)
    await registry.register({ agentId: 'reviewer', capabilities: ['review'] })
    await registry.register({ agentId: 'boss', capabilities: ['review'] })
    await registry.register({ agentId: 'coder', capabilities: ['code'] })
    expect((await spool.status(held.messageId)).deliveries.map((d) => d.recipient)).toEqual(['reviewer'])
    const [claimed] = await spool.claim('reviewer')
    expect(claimed?.message).toMatchObject({ id: held.messageId, body: 'please review' })
  })

  it('releases nothing to an agent on another transport', async () => {
    const { registry, spool } = await open()
    const held = await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'all hands' })
    await registry.register({ agentId: 'far', transport: 'http', relayUrl: 'http://relay.example:8420' })
    expect((await spool.status(held.messageId)).deliveries).toEqual([])
  })

  it('settles concurrent registrations of one agent from two registries on one whole profile', async () => {
    const { registry, spool, another } = await open()
    const registries = [registry, await another()]
    const held = await spool.hold({ fromAgent: 'boss', toAgent: 'capability:review', body: 'x' })
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        registries[i % 2]!.register({
          agentId: 'same',
          capabilities: ['review', `only-${i}`],
          device: `device-${i}`,
        }),
      ),
    )
    // Whichever registration committed last, its profile and its capabilities are read together.
    const profile = await registries[1]!.require('same')
    expect(profile.capabilities).toEqual(['review', `only-${profile.device.slice('device-'.length)}`])
    expect((await spool.status(held.messageId)).deliveries.map((d) => d.recipient)).toEqual(['same'])
  })

  it('gives each of many agents registering at once one delivery of a held broadcast', async () => {
    const { registry, spool, another } = await open()
    const registries = [registry, await another()]
    const held = await spool.hold({ fromAgent: 'boss', toAgent: '*', body: 'all hands' })
    const names = Array.from({ length: 12 }, (_, i) => `agent-${String(i).padStart(2, '0')}`)
    await Promise.all(
      names.flatMap((agentId, i) => [0, 1].map((r) => registries[(i + r) % 2]!.register({ agentId }))),
    )
    const recipients = (await spool.status(held.messageId)).deliveries.map((d) => d.recipient).sort()
    expect(recipients).toEqual(names)
  })
})

describe.skipIf(process.env.CI !== 'true' && !(await serverAvailable()))(
  'a registration beside a hold in flight (needs a PostgreSQL server)',
  () => {
    it('waits for the hold to commit, so the registering agent is handed the held message', async () => {
      const schema = `reg_${++schemas}`
      const holder = db!.client()
      const client = db!.client()
      await applyPostgresMigrations(client, schema)
      const registry = await Registry.open({
        store: new PostgresRegistryStore({ client, schema, location: 'test', ownsClient: true }),
        clock: new ManualClock(START),
      })
      onCleanup(() => registry.close())
      let registration: Promise<unknown> | undefined
      // A hold in flight: its lock taken, its message written, not yet committed. Without the lock the
      // registration's release would run now, miss the message, and the agent would never get it.
      await holder.transaction(async (tx) => {
        await tx.query(HOLDS_LOCK_SQL.shared, [HOLDS_LOCK_SQL.key(schema)])
        registration = registry.register({ agentId: 'late', capabilities: ['review'], device: 'ci' })
        await expect
          .poll(async () => {
            const [row] = await holder.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
            )
            return row!.n
          })
          .toBe(1)
        await tx.query(
          `INSERT INTO "${schema}".messages (id, from_agent, to_agent, subject, body, priority, conversation_id,
             ttl_hours, created_at, expires_at, held_until, held_max_attempts)
           VALUES ('msg_held_in_flight', 'architect', 'capability:review', 'Review', 'Please review', 2,
             'conv_held', 24, $1, $2, $2, 3)`,
          [START, START + hours(24)],
        )
      })
      await registration
      const [row] = await holder.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".deliveries d JOIN "${schema}".messages m ON m.seq = d.message_seq
         WHERE d.recipient = 'late' AND m.id = 'msg_held_in_flight'`,
      )
      expect(row!.n).toBe(1)
      await holder.end()
    })
  },
)

describe.skipIf(process.env.CI !== 'true' && !(await serverAvailable()))('openPostgres', () => {
  it('opens a spool and a registry on one pool, in the schema asked for, and closes both', async () => {
    const pg = await openPostgres({ url: db!.url, schema: 'opened_together', poolSize: 2 })
    try {
      expect(pg.spool.storeKind).toBe('postgres')
      expect(pg.registry.store.kind).toBe('postgres')
      await pg.spool.hold({ fromAgent: 'boss', toAgent: 'capability:review', body: 'x' })
      await pg.registry.register({ agentId: 'reviewer', capabilities: ['review'] })
      const [claimed] = await pg.spool.claim('reviewer')
      expect(claimed?.message.body).toBe('x')
    } finally {
      await pg.close()
    }
    await expect(pg.registry.list()).rejects.toMatchObject({ code: 'CLOSED' })
  })

  it('never shows the password of the URL it was given', async () => {
    const url = new URL(db!.url)
    url.password = 'sekrit-pw'
    const pg = await openPostgres({ url: url.toString(), schema: 'redacted' })
    try {
      expect(pg.location).not.toContain('sekrit-pw')
      expect(pg.spool.path).not.toContain('sekrit-pw')
      expect(pg.registry.path).not.toContain('sekrit-pw')
    } finally {
      await pg.close()
    }
  })

  it('lets Spool.open take a postgres:// path, loading this package for it', async () => {
    const spool = await Spool.open({ path: db!.url })
    try {
      expect(spool.storeKind).toBe('postgres')
      await spool.send({ fromAgent: 'a', toAgent: 'b', body: 'over a URL' })
      const [claimed] = await spool.claim('b')
      expect(claimed?.message.body).toBe('over a URL')
    } finally {
      await spool.close()
    }
  })

  it('drops a throwaway schema with dropPostgresSchema, and refuses agent_comm and public', async () => {
    const pg = await openPostgres({ url: db!.url, schema: 'throwaway' })
    await pg.close()
    await dropPostgresSchema({ url: db!.url, schema: 'throwaway' })
    const rows = await db!.client().query("SELECT 1 FROM pg_namespace WHERE nspname = 'throwaway'")
    expect(rows).toEqual([])
    for (const schema of ['agent_comm', 'public']) {
      await expect(dropPostgresSchema({ url: db!.url, schema })).rejects.toMatchObject({ code: 'VALIDATION' })
    }
  })

  it('refuses to drop a system schema (information_schema, pg_catalog) and leaves it in place', async () => {
    for (const schema of ['information_schema', 'pg_catalog']) {
      await expect(dropPostgresSchema({ url: db!.url, schema })).rejects.toMatchObject({ code: 'CONFIG' })
    }
    const rows = await db!.client().query("SELECT 1 FROM pg_namespace WHERE nspname = 'information_schema'")
    expect(rows).toHaveLength(1)
  })

  it('refuses a URL that is not postgres:// with a ConfigError', async () => {
    await expect(openPostgres({ url: 'mysql://x' })).rejects.toMatchObject({ code: 'CONFIG' })
  })
})

async function serverAvailable(): Promise<boolean> {
  const { pgServerAvailable } = await import('../src/testing.js')
  return pgServerAvailable()
}
