import { afterAll, beforeAll, expect, it } from 'vitest'
import { notifyChannel, type PostgresSpoolStore, type SqlClient } from '../src/index.js'
import { createTestDatabase, openTestStore, reportSkipped } from '../src/testing.js'
import { claimAt, send, T0 } from './sends.js'

const db = await createTestDatabase({
  name: 'notify',
  logger: reportSkipped('the lost-LISTEN-connection test of notify.test.ts (it ends a server backend)'),
})
let raw: SqlClient
const stores: PostgresSpoolStore[] = []
const open = async (schema?: string) => {
  const store = await openTestStore(db, {
    poolSize: 2,
    ...(schema === undefined ? {} : { schema }),
  })
  stores.push(store)
  return store
}

beforeAll(async () => {
  raw = db.client()
})
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  await db.drop()
})

/**
 * Listens on a store's channel beside the store. `take()` sends a marker on the channel and resolves, once
 * the marker arrives, with the store notifications that arrived before it: notifications reach a listener
 * in commit order, so nothing committed before `take()` can still be on its way.
 */
async function probe(channel: string) {
  let heard: string[] = []
  let marker: (() => void) | undefined
  await raw.listen(channel, (payload) => {
    if (payload === 'marker') marker?.()
    else heard.push(payload)
  })
  return {
    async take(): Promise<number> {
      const arrived = new Promise<void>((resolve) => {
        marker = resolve
      })
      await raw.query(`SELECT pg_notify($1, 'marker')`, [channel])
      await arrived
      const count = heard.length
      heard = []
      return count
    },
  }
}

it("wakes another store's watch when a send commits, and only then", async () => {
  const sender = await open()
  const watcher = await open()
  let changes = 0
  const stop = watcher.watch(() => changes++)
  // The LISTEN taking effect is itself one hint; after it, only commits call the watcher.
  await expect.poll(() => changes).toBe(1)
  const channel = await probe(notifyChannel('agent_comm'))
  await sender.insertMessages({ sends: [send({ toAgent: 'sleepy' })], now: T0 })
  await expect.poll(() => changes).toBe(2)
  expect(await channel.take()).toBe(1)
  // The claim notifies nobody: nothing arrives on the channel before a marker sent after it.
  await sender.claim(claimAt('sleepy', T0))
  expect(await channel.take()).toBe(0)
  stop()
})

it('notifies once per write that queues a delivery, and not for claims, acks or extends', async () => {
  const store = await open('n_writes')
  const channel = await probe(notifyChannel('n_writes'))
  const s = send({ toAgent: 'n1', subject: 'many' }, { recipients: ['n1'] })
  await store.insertMessages({ sends: [s, send({ toAgent: 'n1' }), send({ toAgent: 'n1' })], now: T0 })
  expect(await channel.take()).toBe(1)
  const [c] = (await store.claim(claimAt('n1', T0, { limit: 1 }))).claimed
  await store.extendLease({
    messageId: s.message.id,
    recipient: 'n1',
    receipt: c!.receipt,
    now: T0,
    leaseUntil: T0 + 1,
  })
  expect(await channel.take()).toBe(0)
  const release = {
    messageId: s.message.id,
    recipient: 'n1',
    now: T0,
    reason: 'again',
    handBack: false,
    availableAt: () => T0,
  }
  await store.release({ ...release, receipt: c!.receipt, deadLetter: false })
  expect(await channel.take()).toBe(1)
  const [again] = (await store.claim(claimAt('n1', T0, { limit: 1 }))).claimed
  await store.release({ ...release, receipt: again!.receipt, deadLetter: true })
  expect(await channel.take()).toBe(0)
  await store.requeueFailed({ messageId: s.message.id, now: T0 })
  expect(await channel.take()).toBe(1)
  const [third] = (await store.claim(claimAt('n1', T0, { limit: 1 }))).claimed
  await store.ack({ messageId: s.message.id, recipient: 'n1', receipt: third!.receipt, now: T0 })
  expect(await channel.take()).toBe(0)
  const held = send({ toAgent: 'capability:review' }, { recipients: [] })
  await store.holdMessage({ send: held, heldUntil: held.expiresAt, now: T0 })
  expect(await channel.take()).toBe(0)
  await store.releaseHeld({ agentId: 'late', capabilities: ['review'], now: T0, defaultMaxAttempts: 3 })
  expect(await channel.take()).toBe(1)
  await store.releaseHeld({ agentId: 'late', capabilities: ['review'], now: T0, defaultMaxAttempts: 3 })
  expect(await channel.take()).toBe(0)
})

it('keeps two schemas in one database apart: rows and notifications', async () => {
  const left = await open('team_left')
  const right = await open('team_right')
  const leftChannel = await probe(notifyChannel('team_left'))
  const rightChannel = await probe(notifyChannel('team_right'))
  const s = send({ toAgent: 'shared-name' })
  await left.insertMessages({ sends: [s], now: T0 })
  expect(await leftChannel.take()).toBe(1)
  expect(await rightChannel.take()).toBe(0)
  expect(await right.status({ messageId: s.message.id, now: T0 })).toBeUndefined()
  expect((await right.claim(claimAt('shared-name', T0))).claimed).toEqual([])
  expect((await right.stats({ now: T0 })).totalMessages).toBe(0)
  expect((await left.claim(claimAt('shared-name', T0))).claimed.map((c) => c.value.id)).toEqual([
    s.message.id,
  ])
})

it.skipIf(db.kind !== 'server')(
  'calls watchers again after the listening connection was lost and LISTENs anew',
  async () => {
    const store = await open('n_reconnect')
    let changes = 0
    const stop = store.watch(() => changes++)
    const listener = async () =>
      raw.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND query ILIKE 'listen%agent_comm_n_reconnect%'`)
    await expect.poll(async () => (await listener()).length).toBe(1)
    const pid = (await listener())[0]!.pid
    // The first LISTEN's own hint.
    await expect.poll(() => changes).toBe(1)
    await raw.query('SELECT pg_terminate_backend($1)', [pid])
    // No write happened: the call comes from the reconnect itself, so waiters re-check what they missed.
    await expect.poll(() => changes).toBeGreaterThan(1)
    await expect.poll(async () => (await listener()).length).toBe(1)
    const after = changes
    await store.insertMessages({ sends: [send({ toAgent: 'back' })], now: T0 })
    await expect.poll(() => changes).toBeGreaterThan(after)
    stop()
  },
)
