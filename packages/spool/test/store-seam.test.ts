import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClosedError, ManualClock, StorageError, ValidationError } from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { type SharedStoreOpener, Spool, SqliteSpoolStore } from '../src/index.js'
import type { SpoolStore } from '../src/store.js'
import {
  checkedMessageFromRow,
  conversationSummaryFromRecord,
  deliveryFromRow,
  isGroupTarget,
  statsFromCounts,
  storedMessageFromRow,
} from '../src/store-support.js'
import { spoolStoreOf, sqliteConnectionOf } from '../src/testing.js'
import { onCleanup, task, tempDir } from './helpers.js'

/** A safety tick far beyond any test's run: a wait that resolves was woken by a hint or a timer. */
const NO_SAFETY_TICK_MS = 1_000_000_000

/** Lets every pending immediate and I/O callback run, so a wait that could resolve now has done so. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((done) => setImmediate(done))
}

/**
 * A store that is not SQLite to the spool: it forwards every operation to a SQLite store and records which
 * it was asked, and lets the test deliver change hints itself.
 */
function forwardingStore(inner: SqliteSpoolStore): {
  store: SpoolStore
  calls: string[]
  hint: () => void
} {
  const calls: string[] = []
  const listeners = new Set<() => void>()
  const methods = [
    'insertMessages',
    'holdMessage',
    'releaseHeld',
    'claim',
    'ack',
    'ackMany',
    'release',
    'extendLease',
    'withdraw',
    'sweepExhaustedLeases',
    'requeueFailed',
    'hasClaimable',
    'nextAvailableAt',
    'status',
    'conversation',
    'conversations',
    'search',
    'stats',
    'pending',
    'listFailed',
    'verify',
    'cleanup',
    'close',
  ] as const
  const forwarded: Record<string, unknown> = {
    kind: 'forwarding',
    location: `forwarding:${inner.location}`,
    readonly: inner.readonly,
    watch(onChange: () => void) {
      listeners.add(onChange)
      return () => listeners.delete(onChange)
    },
  }
  for (const name of methods) {
    const method = inner[name] as (...args: unknown[]) => unknown
    forwarded[name] = (...args: unknown[]) => {
      calls.push(name)
      return method.apply(inner, args)
    }
  }
  const store = forwarded as unknown as SpoolStore
  const hint = (): void => {
    for (const listener of listeners) listener()
  }
  return { store, calls, hint }
}

/** What `fn` throws (undefined if it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

async function sqliteStore(): Promise<SqliteSpoolStore> {
  const store = await SqliteSpoolStore.open({ path: join(tempDir(), 'seam.db') })
  onCleanup(() => store.close())
  return store
}

describe('the storage seam', () => {
  it('refuses options with both a path and a store, or neither', async () => {
    const store = await sqliteStore()
    await expect(Spool.open({ path: join(tempDir(), 'x.db'), store })).rejects.toBeInstanceOf(ValidationError)
    await expect(Spool.open({})).rejects.toThrow(/exactly one of path .* and store/)
  })

  it('runs the whole queue on a given store through the SpoolStore interface only', async () => {
    const { store, calls } = forwardingStore(await sqliteStore())
    const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
    const spool = await Spool.open({ store, clock })
    onCleanup(() => spool.close())
    expect(spoolStoreOf(spool)).toBe(store)
    expect(spool.storeKind).toBe('forwarding')
    expect(spool.path).toBe(store.location)

    const { messageId } = await spool.send(task())
    const [claimed] = await spool.claim('builder')
    expect(claimed?.message.id).toBe(messageId)
    const nacked = await spool.nack(messageId, 'builder', { receipt: claimed!.lease.receipt })
    expect(nacked).toMatchObject({ status: 'queued', attempt: 1 })
    const [again] = await spool.claim('builder')
    await spool.ackBatch([{ messageId, agent: 'builder', receipt: again!.lease.receipt }])
    expect((await spool.status(messageId)).deliveries[0]?.status).toBe('acked')
    // A nack is one store operation (its read and its write in one transaction), and so is a batch of acks.
    expect(calls.filter((c) => c === 'release')).toHaveLength(1)
    expect(calls.filter((c) => c === 'ackMany')).toHaveLength(1)
    expect(calls).not.toContain('ack')
  })

  it('maps what a store reports to the spool errors', async () => {
    const { store } = forwardingStore(await sqliteStore())
    const spool = await Spool.open({ store })
    onCleanup(() => spool.close())
    const { messageId } = await spool.send(task())
    await expect(spool.ack(messageId, 'reviewer')).rejects.toMatchObject({ code: 'DELIVERY_NOT_FOUND' })
    await expect(spool.ack(messageId, 'builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    const second = await spool.send(task('Write the tests'))
    const [first, other] = await spool.claim('builder', { limit: 2 })
    await expect(
      spool.ackBatch([
        { messageId, agent: 'builder', receipt: first!.lease.receipt },
        { messageId: second.messageId, agent: 'builder', receipt: `${other!.lease.receipt}-stale` },
      ]),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' })
    // The refused batch was rolled back as a whole: the first ack did not stay.
    expect((await spool.status(messageId)).deliveries[0]?.status).toBe('leased')
    await expect(spool.retryFailed('msg_unknown')).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
    await expect(spool.retryFailed(messageId, 'builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
  })

  it('checks every id of a chunked batch before writing its first chunk', async () => {
    const { store } = forwardingStore(await sqliteStore())
    const spool = await Spool.open({ store })
    onCleanup(() => spool.close())
    const taken = await spool.send(task())
    const items = Array.from({ length: 30 }, (_, i) => ({ message: task(`job ${i}`) }))
    const stolen = { message: { ...taken.message, fromAgent: 'intruder' } }
    await expect(spool.sendBatch([...items, stolen], { chunkDeliveries: 5 })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining("already used by another sender's message"),
    })
    expect((await spool.stats()).totalMessages).toBe(1)
  })

  it('wakes a waiter on a hint from the store’s change feed', async () => {
    const inner = await sqliteStore()
    const { store, hint } = forwardingStore(inner)
    const spool = await Spool.open({ store, wakeIntervalMs: NO_SAFETY_TICK_MS })
    onCleanup(() => spool.close())
    let woken = false
    const waiting = spool.waitForMessages('builder').then((found) => {
      woken = true
      return found
    })
    await settle()
    // Written behind the spool's back (as another process would): only the hint can tell the waiter.
    const writer = await Spool.open({ path: inner.location })
    onCleanup(() => writer.close())
    await writer.send(task())
    await settle()
    expect(woken).toBe(false)
    hint()
    expect(await waiting).toBe(true)
  })

  it('asks a parked waiter’s next available time once, and whether it has a message once, after it is parked', async () => {
    const { store, calls } = forwardingStore(await sqliteStore())
    const spool = await Spool.open({ store, wakeIntervalMs: NO_SAFETY_TICK_MS })
    onCleanup(() => spool.close())
    const controller = new AbortController()
    const waiting = spool.waitForMessages('builder', { signal: controller.signal })
    await settle()
    // One look, once it is parked (none before: the look after covers a message already there); the timer
    // it was armed with stands.
    expect(calls.filter((c) => c === 'hasClaimable')).toHaveLength(1)
    expect(calls.filter((c) => c === 'nextAvailableAt')).toHaveLength(1)
    controller.abort()
    expect(await waiting).toBe(false)
  })

  it('re-arms a parked waiter’s timer after a hint: a delayed message sent behind its back wakes it when due', async () => {
    const inner = await sqliteStore()
    const { store, calls, hint } = forwardingStore(inner)
    const spool = await Spool.open({ store, wakeIntervalMs: NO_SAFETY_TICK_MS })
    onCleanup(() => spool.close())
    const waiting = spool.waitForMessages('builder')
    await settle()
    const writer = await Spool.open({ path: inner.location })
    onCleanup(() => writer.close())
    await writer.send(task(), { delaySeconds: 0.05 })
    hint()
    await settle()
    expect(calls.filter((c) => c === 'nextAvailableAt')).toHaveLength(2)
    // Only the timer armed from the hint can wake it: no safety tick, and no further hint.
    expect(await waiting).toBe(true)
  })

  it('reports another connection’s commit on the SQLite change feed', async () => {
    const store = await sqliteStore()
    const changed = new Promise<void>((resolve) => {
      const stop = store.watch(() => {
        stop()
        resolve()
      })
    })
    const writer = await Spool.open({ path: store.location })
    onCleanup(() => writer.close())
    await writer.send(task())
    await changed
  })

  it("opens another package's store on a SQLite spool's own connection, and refuses a spool on another store", async () => {
    const sqlite = await Spool.open({ path: ':memory:' })
    onCleanup(() => sqlite.close())
    const handed: BetterSqlite3.Database[] = []
    const counter: SharedStoreOpener<() => unknown> = {
      name: 'the example store',
      sqlite: (connection) => {
        handed.push(connection)
        const count = connection.prepare('SELECT COUNT(*) FROM messages').pluck()
        return () => count.get()
      },
    }
    const messages = sqlite.openShared(counter)
    // The spool's own connection: a second one to `:memory:` would be another, empty database.
    await sqlite.send(task())
    expect(messages()).toBe(1)
    expect(handed).toEqual([sqliteConnectionOf(sqlite)])

    const { store } = forwardingStore(await sqliteStore())
    const other = await Spool.open({ store })
    onCleanup(() => other.close())
    expect(other.storeKind).toBe('forwarding')
    const refused = thrown(() => other.openShared(counter))
    expect(refused).toBeInstanceOf(ValidationError)
    expect(refused).toMatchObject({
      message: expect.stringMatching(
        /^This spool is on the forwarding store \(forwarding:.*\), not SQLite: the example store cannot keep its tables in the spool's database\. Open the example store on that store itself/,
      ),
      issues: [{ path: 'spool', message: 'is on the forwarding store, not SQLite' }],
    })
    expect(handed).toHaveLength(1)
    expect(() => sqliteConnectionOf(other)).toThrow(/on the forwarding store .* not SQLite/)
    // An opener without a form for SQLite is refused on SQLite too, by name.
    expect(() => sqlite.openShared({ name: 'the elsewhere store' })).toThrow(
      /on the sqlite store \(:memory:\), and the elsewhere store has no form for it/,
    )
    await sqlite.close()
    expect(() => sqlite.openShared(counter)).toThrow(ClosedError)
    expect(handed).toHaveLength(1)
  })

  it('answers a ping while its database answers, and rejects one when it does not or after close', async () => {
    const spool = await Spool.open({ path: join(tempDir(), 'ping.db') })
    onCleanup(() => spool.close())
    await expect(spool.ping()).resolves.toBeUndefined()
    // A database gone bad under the spool: the table a ping reads is no longer there.
    sqliteConnectionOf(spool).exec('ALTER TABLE deliveries RENAME TO deliveries_gone')
    const failed = await spool.ping().then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failed).toBeInstanceOf(StorageError)
    expect(failed).toMatchObject({ code: 'STORAGE' })
    sqliteConnectionOf(spool).exec('ALTER TABLE deliveries_gone RENAME TO deliveries')
    await expect(spool.ping()).resolves.toBeUndefined()
    await spool.close()
    await expect(spool.ping()).rejects.toBeInstanceOf(ClosedError)
  })

  it('reports changes from other connections through watch, and says which store it is on', async () => {
    const { store, hint } = forwardingStore(await sqliteStore())
    const spool = await Spool.open({ store })
    onCleanup(() => spool.close())
    expect(spool.storeKind).toBe('forwarding')
    let changes = 0
    const stop = spool.watch(() => changes++)
    hint()
    stop()
    hint()
    expect(changes).toBe(1)
    const onSqlite = await Spool.open({ path: ':memory:' })
    onCleanup(() => onSqlite.close())
    expect(onSqlite.storeKind).toBe('sqlite')
  })
})

describe('the public API', () => {
  it('hands out no driver handle and no store: only stores opened through openShared see the connection', async () => {
    const api: Record<string, unknown> = await import('../src/index.js')
    for (const name of [
      'sqliteConnection',
      'sqliteHasTable',
      'storeOf',
      'sqliteConnectionOf',
      'spoolStoreOf',
    ]) {
      expect(Object.keys(api)).not.toContain(name)
    }
    expect(Object.getOwnPropertyNames(Spool.prototype)).not.toContain('store')
    expect(Object.getOwnPropertyNames(Spool.prototype)).toEqual(
      expect.arrayContaining(['openShared', 'storeKind', 'ping', 'watch']),
    )
    const { exports } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, unknown>
    }
    expect(exports['./testing']).toEqual({ types: './dist/testing.d.ts', default: './dist/testing.js' })
  })
})

describe('@agent-comm/spool/store', () => {
  it('builds stats from a store’s counts', () => {
    const now = 1_000_000
    const stats = statsFromCounts(
      {
        byStatus: [
          { status: 'queued', count: 2 },
          { status: 'acked', count: 3 },
          { status: 'failed', count: 1 },
        ],
        oldestQueuedAt: now - 500,
        oldestLeaseAt: null,
        totalMessages: 5,
        perAgent: [
          { recipient: 'builder', status: 'queued', count: 2 },
          { recipient: 'builder', status: 'failed', count: 1 },
        ],
      },
      now,
    )
    expect(stats).toEqual({
      totalMessages: 5,
      deliveries: { queued: 2, leased: 0, acked: 3, failed: 1, expired: 0 },
      oldestQueuedAgeMs: 500,
      oldestLeaseAgeMs: null,
      failedRate: 0.25,
      agents: { builder: { queued: 2, leased: 0, failed: 1 } },
    })
  })

  it('builds a conversation summary with each participant once, sorted', () => {
    expect(
      conversationSummaryFromRecord({
        conversationId: 'conv_1',
        subject: 'Task',
        messageCount: 3,
        firstAt: 0,
        lastAt: 1000,
        senders: ['reviewer', 'architect'],
        receivers: ['builder', 'architect'],
      }),
    ).toEqual({
      conversationId: 'conv_1',
      subject: 'Task',
      participants: ['architect', 'builder', 'reviewer'],
      messageCount: 3,
      firstActivity: new Date(0).toISOString(),
      lastActivity: new Date(1000).toISOString(),
    })
  })

  it('reads rows as every store stores them', () => {
    const row = {
      seq: 1,
      id: 'msg_1',
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Task',
      body: 'Implement auth',
      priority: 2,
      conversationId: 'conv_1',
      replyTo: null,
      ttlHours: 24,
      payload: null,
      metadata: '{"not json',
      createdAt: 0,
      expiresAt: 86_400_000,
    }
    expect(storedMessageFromRow(row).unreadable).toEqual([{ column: 'metadata', reason: expect.any(String) }])
    expect(() => checkedMessageFromRow(row)).toThrow(/metadata/)
    const delivery = deliveryFromRow(
      {
        recipient: 'builder',
        status: 'queued',
        attempt: 0,
        maxAttempts: 3,
        leaseUntil: null,
        availableAt: 0,
        expiresAt: 10,
        lastError: null,
        createdAt: 0,
        updatedAt: 0,
        ackedAt: null,
      },
      20,
    )
    expect(delivery.status).toBe('expired')
    expect(isGroupTarget('capability:review')).toBe(true)
    expect(isGroupTarget('builder')).toBe(false)
  })
})
