import { join } from 'node:path'
import { ConflictError, StorageError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import type { DatabaseRows } from '../src/copy.js'
import { SqliteSpoolStore, sqliteConnection } from '../src/index.js'
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
    return await store.exportRows({ sections: [] })
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
    await destination.importRows({ rows, sections: [] })
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
      const refused = destination.importRows({ rows, sections: [] })
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
      await expect(destination.importRows({ rows, sections: [] })).rejects.toThrow(
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
    sqliteConnection(spool).prepare("UPDATE messages SET priority = 9 WHERE body = 'urgent'").run()
    await spool.close()
    const store = await SqliteSpoolStore.open({ path })
    try {
      const refused = store.exportRows({ sections: [] })
      await expect(refused).rejects.toBeInstanceOf(StorageError)
      await expect(refused).rejects.toThrow(/Row 2 of table 'messages' .* cannot be copied: priority/)
    } finally {
      await store.close()
    }
  })
})
