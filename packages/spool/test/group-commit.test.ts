import { join } from 'node:path'
import { ConflictError, createMessage, ManualClock } from '@agent-comm/protocol'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Spool, SqliteSpoolStore } from '../src/index.js'
import type { InsertMessagesParams, SpoolStore } from '../src/store.js'
import { onCleanup, openSpool, task, tempDir } from './helpers.js'

/** A spool on a SQLite store whose every insertMessages call is recorded with the ids it stores. */
async function recordingSpool(): Promise<{ spool: Spool; inserts: string[][] }> {
  const inner = await SqliteSpoolStore.open({ path: join(tempDir(), 'group.db') })
  const inserts: string[][] = []
  const store = new Proxy(inner, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown
      if (key === 'insertMessages') {
        return (params: InsertMessagesParams) => {
          inserts.push(params.sends.map((s) => s.message.id))
          return target.insertMessages(params)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  }) as SpoolStore
  const spool = await Spool.open({ store, clock: new ManualClock(Date.UTC(2026, 1, 3, 14, 30)) })
  onCleanup(() => spool.close())
  return { spool, inserts }
}

/**
 * Counts the transactions better-sqlite3 begins from now on (a savepoint inside one is not counted): wraps
 * `Database#transaction`, so only stores opened after the call are counted.
 */
function countTransactions(): { count: number } {
  const counter = { count: 0 }
  const original = Database.prototype.transaction
  vi.spyOn(Database.prototype, 'transaction').mockImplementation(function (
    this: Database.Database,
    fn: (...args: never[]) => unknown,
  ) {
    const db = this
    const tx = original.call(this, fn)
    const counted = (run: (...args: unknown[]) => unknown) =>
      function (this: unknown, ...args: unknown[]) {
        if (!db.inTransaction) counter.count++
        return run.apply(this, args)
      }
    return Object.assign(counted(tx as never), {
      deferred: counted(tx.deferred as never),
      immediate: counted(tx.immediate as never),
      exclusive: counted(tx.exclusive as never),
    }) as never
  })
  return counter
}

describe('group commit', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('commits the claims, sends and acks of one run of callbacks together, however long their chains', async () => {
    const { spool: setup } = await openSpool()
    const path = setup.path
    const sent = await setup.send(task('to claim'))
    const [leased] = await setup.claim('builder')
    await setup.close()
    const transactions = countTransactions()
    const spool = await Spool.open({ path, clock: new ManualClock(Date.UTC(2026, 1, 3, 14, 30)) })
    onCleanup(() => spool.close())
    const before = transactions.count
    const later = async <T>(hops: number, write: () => Promise<T>): Promise<T> => {
      for (let i = 0; i < hops; i++) await Promise.resolve()
      return write()
    }
    // As a relay's requests let through together: a claim straight away, a send (through the spool's own
    // send group) and an ack a few promise hops later.
    const [claimed, send, ack] = await Promise.all([
      spool.claim('reviewer'),
      later(3, () => spool.send(task('new', { toAgent: 'reviewer' }))),
      later(7, () => spool.ack(sent.messageId, 'builder', { receipt: leased!.lease.receipt })),
    ])
    expect(transactions.count - before).toBe(1)
    expect(claimed).toEqual([])
    expect(send.deliveries).toBe(1)
    expect(ack.alreadyAcked).toBe(false)
    expect((await spool.claim('reviewer')).map((c) => c.message.body)).toEqual(['new'])
  })

  it('stores sends issued together in one transaction, each with its own result', async () => {
    const { spool, inserts } = await recordingSpool()
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => spool.send(task(`task ${i}`))))
    expect(inserts).toEqual([results.map((r) => r.messageId)])
    expect(results.every((r) => r.deliveries === 1 && !r.duplicate)).toBe(true)
    const claimed = await spool.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.body)).toEqual(Array.from({ length: 8 }, (_, i) => `task ${i}`))
  })

  it('stores a send awaited alone in a transaction of its own', async () => {
    const { spool, inserts } = await recordingSpool()
    await spool.send(task('first'))
    await spool.send(task('second'))
    expect(inserts.map((ids) => ids.length)).toEqual([1, 1])
  })

  it('fails only the send whose id another sender took; the others sent with it are stored', async () => {
    const { spool } = await recordingSpool()
    const taken = await spool.send(task('mine'))
    const sends = [
      spool.send(task('before')),
      spool.send({ ...taken.message, fromAgent: 'intruder', body: 'not mine' }),
      spool.send(task('after')),
    ]
    const [before, foreign, after] = await Promise.allSettled(sends)
    expect([before?.status, after?.status]).toEqual(['fulfilled', 'fulfilled'])
    expect(foreign?.status === 'rejected' ? foreign.reason : foreign).toBeInstanceOf(ConflictError)
    const bodies = (await spool.claim('builder', { limit: 10 })).map((c) => c.message.body)
    expect(bodies).toEqual(['mine', 'before', 'after'])
  })

  it('reports duplicates within one group as a send after the first would', async () => {
    const { spool } = await recordingSpool()
    const once = createMessage(task('once'))
    const [first, again, keyed, keyedAgain] = await Promise.all([
      spool.send(once),
      spool.send(once),
      spool.send(task('keyed'), { idempotencyKey: 'k1' }),
      spool.send(task('keyed'), { idempotencyKey: 'k1' }),
    ])
    expect([first!.duplicate, again!.duplicate]).toEqual([false, true])
    expect(keyedAgain).toMatchObject({ duplicate: true, messageId: keyed!.messageId })
  })

  it('stores the sends accepted before close, then closes', async () => {
    const path = join(tempDir(), 'close.db')
    const spool = await Spool.open({ path })
    const sent = spool.send(task('last words'))
    await spool.close()
    const { messageId } = await sent
    const reopened = await Spool.open({ path })
    onCleanup(() => reopened.close())
    expect((await reopened.status(messageId)).deliveries).toHaveLength(1)
  })
})
