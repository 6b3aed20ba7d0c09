import { StorageError } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createNodePostgresClient, openPostgresSpoolStore, type SqlClient } from '../src/index.js'
import { createTestDatabase, reportSkipped } from '../src/testing.js'
import { recordingLogger } from './recording-logger.js'
import { claimAt, send, T0 } from './sends.js'
import { tcpProxy } from './tcp-proxy.js'

/**
 * A database host that vanishes in the middle of the work: a network partition, not a clean restart. The
 * TCP proxy black-holes every packet while its kernel keeps acknowledging them (as a hung server's does),
 * so neither a reset nor TCP keepalive ever says the connection is gone: only agent-comm's own timeouts can.
 */
const db = await createTestDatabase({
  name: 'network_partition',
  logger: reportSkipped('network-partition.test.ts (a server cut off by a black-holing TCP proxy)'),
})
let proxy: Awaited<ReturnType<typeof tcpProxy>>
const { onCleanup } = testCleanups('agent-comm-postgres-test-')

beforeAll(async () => {
  proxy = await tcpProxy()
})
// Registered after testCleanups' own afterEach, so it runs before it (vitest runs after-hooks as a stack):
// the proxy passes traffic again before the cleanups close what a test opened through it.
afterEach(() => {
  proxy.up()
})
afterAll(async () => {
  await proxy?.close()
  await db.drop()
})

/** The test database's URL through the proxy, with `params` added. */
function throughProxy(params: Record<string, string> = {}): string {
  const url = new URL(db.url)
  url.port = String(proxy.port)
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
  return url.toString()
}

describe.skipIf(db.kind !== 'server')(
  'a network partition between agent-comm and PostgreSQL (needs a server)',
  () => {
    it('fails a send and a claim the server stops answering with connection-lost, and the next call works once the network heals', async () => {
      // Short timeouts, as a URL can say them: the defaults (60 s for an answer, 30 s to connect) are the same path.
      const store = await openPostgresSpoolStore({
        url: throughProxy({ query_timeout: '1000', connect_timeout: '1' }),
        schema: 'partition_calls',
        poolSize: 2,
      })
      onCleanup(() => store.close())
      await store.insertMessages({ sends: [send({ id: 'before', toAgent: 'builder' })], now: T0 })

      proxy.blackHole()
      const lostSend = await store
        .insertMessages({ sends: [send({ id: 'cut-off', toAgent: 'builder' })], now: T0 })
        .then(
          () => undefined,
          (error: unknown) => error,
        )
      expect(lostSend).toBeInstanceOf(StorageError)
      expect(lostSend).toMatchObject({
        transient: true,
        details: { reason: 'connection-lost' },
        hint: expect.stringMatching(/stopped answering.*query_timeout/s),
      })
      const lostClaim = await store.claim(claimAt('builder', T0)).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(lostClaim).toBeInstanceOf(StorageError)
      expect((lostClaim as StorageError).transient).toBe(true)

      proxy.up()
      // The send is idempotent by id: sent again it is stored once, whether or not the cut-off one committed.
      await store.insertMessages({ sends: [send({ id: 'cut-off', toAgent: 'builder' })], now: T0 })
      // After any lease the unanswered claim took has run out: each message once, none lost, none doubled.
      const { claimed } = await store.claim(claimAt('builder', T0 + 120_000, { receipt: 'after' }))
      expect(claimed.map((c) => c.value.id).sort()).toEqual(['before', 'cut-off'])
    })

    it('wakes a long poll that waited through the partition with a message sent once the network heals', async () => {
      const url = throughProxy({ query_timeout: '1000', connect_timeout: '1' })
      const waiter = await Spool.open({
        store: await openPostgresSpoolStore({ url, schema: 'partition_wait', poolSize: 1 }),
      })
      const sender = await Spool.open({
        store: await openPostgresSpoolStore({ url: db.url, schema: 'partition_wait', poolSize: 1 }),
      })
      onCleanup(() => waiter.close())
      onCleanup(() => sender.close())
      // A first wait, answered: the waiter's LISTEN connection is up and its pool holds a connection.
      const first = waiter.waitForMessages('builder', { timeoutMs: 60_000 })
      await sender.send({ fromAgent: 'architect', toAgent: 'builder', body: 'before' })
      expect(await first).toBe(true)
      const [before] = await waiter.claim('builder')
      await waiter.ack(before!.message.id, 'builder', { receipt: before!.lease.receipt })

      // The long poll's checks run into the partition: the one in flight fails after query_timeout and its
      // connection is dropped (the pool tries a new one), rather than waiting for ever.
      const waiting = waiter.waitForMessages('builder', { timeoutMs: 60_000 }).then(
        (found) => ({ found }),
        (error: unknown) => ({ error }),
      )
      const accepted = proxy.accepted
      proxy.blackHole()
      // Either the wait itself failed, or one of its checks did and the pool is trying a new connection.
      await Promise.race([waiting, proxy.acceptedAtLeast(accepted + 1)])
      proxy.up()
      await sender.send({ fromAgent: 'architect', toAgent: 'builder', body: 'after the partition' })
      const outcome = await waiting
      if ('error' in outcome) {
        // The wait's first check met the partition: a transient failure, which consumer loops, the relay
        // (503) and `poll --follow` wait out; the next wait finds the message.
        expect(outcome.error).toMatchObject({ transient: true, details: { reason: 'connection-lost' } })
        expect(await waiter.waitForMessages('builder', { timeoutMs: 60_000 })).toBe(true)
      } else expect(outcome.found).toBe(true)
      expect((await waiter.claim('builder')).map((c) => c.message.body)).toEqual(['after the partition'])
    })

    it('fails a transaction the server stops answering without waiting for a ROLLBACK that cannot come', async () => {
      const client = createNodePostgresClient({ url: throughProxy(), poolSize: 1, queryTimeoutMs: 1000 })
      onCleanup(() => client.end())
      await client.query('SELECT 1')
      const pending = client
        .transaction(async (tx) => {
          await tx.query('SELECT 1')
          proxy.blackHole()
          await tx.query('SELECT 2')
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        )
      expect(await pending).toMatchObject({ details: { reason: 'connection-lost' } })
      proxy.up()
      expect(await client.transaction((tx) => tx.query<{ n: number }>('SELECT 3 AS n'))).toEqual([{ n: 3 }])
    })

    it('replaces a LISTEN connection the server stopped answering, and hears notifications again once the network heals', async () => {
      const { logger, heard } = recordingLogger()
      const client = createNodePostgresClient({
        url: throughProxy({ connect_timeout: '1' }),
        poolSize: 1,
        logger,
        listenHeartbeatMs: 100,
        heartbeatTimeoutMs: 300,
        reconnectDelay: { initialMs: 50, maxMs: 200 },
      })
      onCleanup(() => client.end())
      const heardPayloads: string[] = []
      let reconnects = 0
      const stop = await client.listen(
        'partition_wakeups',
        (payload) => heardPayloads.push(payload),
        () => reconnects++,
      )
      onCleanup(stop)

      proxy.blackHole()
      // No reset, no keepalive failure: the heartbeat is what notices.
      await heard(/listener connection lost/)
      await heard(/could not reconnect yet/)
      proxy.up()
      await expect.poll(() => reconnects, { timeout: 15_000 }).toBe(1)

      const notifier = new pg.Client({ connectionString: db.url })
      await notifier.connect()
      onCleanup(() => notifier.end())
      await expect
        .poll(
          async () => {
            await notifier.query(`SELECT pg_notify('partition_wakeups', 'after the partition')`)
            return heardPayloads
          },
          { timeout: 15_000 },
        )
        .toContain('after the partition')
    })
  },
)

describe.skipIf(db.kind !== 'server')('a pool with no connection to give (needs a server)', () => {
  let client: SqlClient

  it('fails a call that waited too long for a busy pool with reason pool-exhausted and a hint naming the pool size', async () => {
    client = createNodePostgresClient({ url: db.url, poolSize: 1, connectTimeoutMs: 200 })
    onCleanup(() => client.end())
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let started!: () => void
    const holding = new Promise<void>((resolve) => {
      started = resolve
    })
    const busy = client.transaction(async (tx) => {
      await tx.query('SELECT 1')
      started()
      await held
    })
    await holding
    const error = await client.query('SELECT 1').then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({
      transient: true,
      details: { reason: 'pool-exhausted' },
      hint: expect.stringMatching(/AGENT_COMM_PG_POOL_SIZE.*pooler/s),
    })
    expect((error as StorageError).hint).not.toMatch(/is running/)
    release()
    await busy
    expect(await client.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }])
  })
})
