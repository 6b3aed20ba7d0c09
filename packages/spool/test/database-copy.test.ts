import { join } from 'node:path'
import { ConflictError, StorageError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { type DatabaseRows, RowCollector, type RowSink, rowsSource } from '../src/copy.js'
import { SqliteSpoolStore } from '../src/index.js'
import { sqliteConnectionOf } from '../src/testing.js'
import { openSpool, task, tempDir } from './helpers.js'

// The SQLite store's side of `agent-comm db copy` (`exportRows` / `importRows`): the registry's and the
// A2A endpoint's sections are exercised by the CLI's test, which copies to PostgreSQL and back.

/** A spool with a queued, a leased, an acked, a dead-lettered and a held message, and both kinds of key. */
async function filledSpool() {
  const { spool, clock, path } = await openSpool()
  await spool.send(task('gone', { routing: { ttlHours: 1 } }), { idempotencyKey: 'k-gone' })
  clock.advance(2 * 3_600_000)
  await spool.cleanup()
  const first = await spool.send(task('first ✓'), { idempotencyKey: 'k-first' })
  await spool.send(task('urgent', { priority: 'critical' }))
  await spool.send({ fromAgent: 'architect', toAgent: 'reviewer', body: 'leased' })
  await spool.send({ fromAgent: 'architect', toAgent: 'archivist', body: 'acked' })
  const dead = await spool.send({ fromAgent: 'architect', toAgent: 'broken', body: 'dead' })
  await spool.hold({ fromAgent: 'architect', toAgent: 'capability:deploy', body: 'held' })
  await spool.claim('reviewer')
  const [acked] = await spool.claim('archivist')
  await spool.ack(acked!.message.id, 'archivist')
  await spool.claim('broken')
  await spool.nack(dead.messageId, 'broken', { deadLetter: true, reason: 'no' })
  return { spool, path, first }
}

async function exported(path: string): Promise<DatabaseRows> {
  const store = await SqliteSpoolStore.open({ path, create: false })
  try {
    const collector = new RowCollector()
    await store.exportRows({ sections: [], sink: collector })
    return collector.rows
  } finally {
    await store.close()
  }
}

describe('copying a SQLite spool (exportRows / importRows)', () => {
  it('writes every row into a new file in the order of arrival, keys where they were kept', async () => {
    const { spool, path } = await filledSpool()
    await spool.close()
    const rows = await exported(path)
    expect(rows.messages.map((m) => m.body)).toEqual(['first ✓', 'urgent', 'leased', 'acked', 'dead', 'held'])
    expect(rows.deliveries.map((d) => d.status)).toEqual(['queued', 'queued', 'leased', 'acked', 'failed'])
    expect(rows.idempotencyKeys.map((k) => k.key)).toEqual(['k-first', 'k-gone'])

    const target = join(tempDir(), 'copy.db')
    const destination = await SqliteSpoolStore.open({ path: target })
    await destination.importRows({ source: rowsSource(rows), sections: [] })
    expect((await destination.verify()).ok).toBe(true)
    await destination.close()
    expect(await exported(target)).toEqual(rows)
  })

  it('refuses a destination that holds messages, writing nothing', async () => {
    const { spool, path } = await filledSpool()
    await spool.close()
    const rows = await exported(path)
    const { spool: other, path: otherPath } = await openSpool()
    await other.send(task('already here'))
    await other.close()
    const destination = await SqliteSpoolStore.open({ path: otherPath })
    try {
      const refused = destination.importRows({ source: rowsSource(rows), sections: [] })
      await expect(refused).rejects.toBeInstanceOf(ConflictError)
      await expect(refused).rejects.toThrow(/already holds agent-comm data \(table 'messages' has rows\)/)
    } finally {
      await destination.close()
    }
    expect((await exported(otherPath)).messages.map((m) => m.body)).toEqual(['already here'])
  })

  it('rolls the whole copy back when a row fails midway', async () => {
    const { spool, path } = await filledSpool()
    await spool.close()
    const rows = await exported(path)
    // A delivery naming a message the copy does not carry: found after every message was written.
    rows.deliveries.push({ ...rows.deliveries[0]!, messageId: 'msg_missing' })
    const target = join(tempDir(), 'copy.db')
    const destination = await SqliteSpoolStore.open({ path: target })
    try {
      await expect(destination.importRows({ source: rowsSource(rows), sections: [] })).rejects.toThrow(
        /names message 'msg_missing'/,
      )
    } finally {
      await destination.close()
    }
    expect(await exported(target)).toEqual({
      messages: [],
      deliveries: [],
      idempotencyKeys: [],
      sections: {},
    })
  })

  it('refuses to copy a row that does not fit the neutral format, naming it', async () => {
    const { spool, path } = await filledSpool()
    sqliteConnectionOf(spool).prepare("UPDATE messages SET priority = 9 WHERE body = 'urgent'").run()
    await spool.close()
    const store = await SqliteSpoolStore.open({ path })
    try {
      const refused = store.exportRows({ sections: [], sink: new RowCollector() })
      await expect(refused).rejects.toBeInstanceOf(StorageError)
      await expect(refused).rejects.toThrow(/Row 2 of table 'messages' .* cannot be copied: priority/)
      // Read a row at a time, it is still named by its place in its table, not in its batch.
      const oneByOne = store.exportRows({ sections: [], sink: new RowCollector(), batchRows: 1 })
      await expect(oneByOne).rejects.toThrow(/Row 2 of table 'messages' .* cannot be copied: priority/)
    } finally {
      await store.close()
    }
  })

  it('copies a database larger than one batch exactly, handing on one bounded batch at a time', async () => {
    const { spool, path } = await filledSpool()
    for (let i = 0; i < 11; i++) {
      await spool.send(task(`more ${i}`), i % 3 === 0 ? { idempotencyKey: `k-${i}` } : {})
    }
    await spool.close()
    const whole = await exported(path)
    expect(whole.messages).toHaveLength(17)

    // Every batch passes through a spy on its way: how many rows are on their way at once, and how big
    // each batch is. A batch is written before the next is read.
    let held = 0
    let mostHeld = 0
    const sizes: Record<string, number[]> = {}
    const spy = (sink: RowSink): RowSink => {
      const through =
        (kind: string, write: (rows: never[]) => Promise<void> | void) => async (rows: never[]) => {
          held += rows.length
          mostHeld = Math.max(mostHeld, held)
          sizes[kind] = [...(sizes[kind] ?? []), rows.length]
          await write(rows)
          held -= rows.length
        }
      return {
        begin: (plan) => sink.begin(plan),
        messages: through('messages', (rows) => sink.messages(rows)),
        idempotencyKeys: through('keys', (rows) => sink.idempotencyKeys(rows)),
        deliveries: through('deliveries', (rows) => sink.deliveries(rows)),
        tableRows: (section, table, rows) => sink.tableRows(section, table, rows),
      }
    }
    const source = await SqliteSpoolStore.open({ path, create: false })
    const target = join(tempDir(), 'copy.db')
    const destination = await SqliteSpoolStore.open({ path: target })
    try {
      await destination.importRows({
        sections: [],
        source: (sink) => source.exportRows({ sections: [], sink: spy(sink), batchRows: 4 }),
      })
      expect((await destination.verify()).ok).toBe(true)
    } finally {
      await destination.close()
      await source.close()
    }
    expect(mostHeld).toBe(4)
    // Keys on their message's row come first, then those kept aside (a batch each side).
    expect(sizes).toEqual({ messages: [4, 4, 4, 4, 1], keys: [4, 1, 1], deliveries: [4, 4, 4, 4] })
    expect(await exported(target)).toEqual(whole)
  })
})
