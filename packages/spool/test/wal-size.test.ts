import { statSync } from 'node:fs'
import { join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { openConnection, WAL_AUTOCHECKPOINT_PAGES, WAL_SIZE_LIMIT_BYTES } from '../src/index.js'
import { sqliteConnectionOf } from '../src/testing.js'
import { onCleanup, openSpool, tempDir } from './helpers.js'

/** A writable connection to a fresh file, closed after the test. */
function open(options: Parameters<typeof openConnection>[1] = {}): {
  sqlite: BetterSqlite3.Database
  walSize: () => number
} {
  const path = join(tempDir(), 'wal.db')
  const sqlite = openConnection(path, options)
  onCleanup(() => {
    sqlite.close()
  })
  sqlite.exec('CREATE TABLE pages (body BLOB NOT NULL)')
  return { sqlite, walSize: () => statSync(`${path}-wal`).size }
}

/** `count` commits of about one page each (4 KiB pages: each commit writes the new row's leaf and more). */
function commit(sqlite: BetterSqlite3.Database, count: number): void {
  const insert = sqlite.prepare('INSERT INTO pages (body) VALUES (randomblob(3000))')
  for (let i = 0; i < count; i++) insert.run()
}

describe('the WAL of a SQLite spool', () => {
  it('is checkpointed every WAL_AUTOCHECKPOINT_PAGES frames and cut back to WAL_SIZE_LIMIT_BYTES by default', async () => {
    const { spool } = await openSpool()
    const sqlite = sqliteConnectionOf(spool)
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(WAL_AUTOCHECKPOINT_PAGES)
    expect(sqlite.pragma('journal_size_limit', { simple: true })).toBe(WAL_SIZE_LIMIT_BYTES)
  })

  it('is checkpointed once it holds walAutocheckpointPages frames, so its file stays about that long', () => {
    const { sqlite, walSize } = open({ walAutocheckpointPages: 50 })
    commit(sqlite, 400)
    const pageSize = sqlite.pragma('page_size', { simple: true }) as number
    // A commit past 50 frames checkpoints, and the next write starts the WAL over from its beginning.
    expect(walSize()).toBeLessThan(100 * (pageSize + 24))
  })

  it('gives back the space of a WAL that outgrew walSizeLimitBytes once a checkpoint lets it start over', () => {
    const limit = 256 * 1024
    const { sqlite, walSize } = open({ walSizeLimitBytes: limit })
    // Far past the limit before any checkpoint: what a large batch, or a reader holding checkpoints back, does.
    commit(sqlite, 300)
    expect(walSize()).toBeGreaterThan(4 * limit)
    const [result] = sqlite.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[]
    expect(result?.log).toBeGreaterThan(0)
    expect(result?.checkpointed).toBe(result?.log)
    // The next commit writes from the WAL's beginning again, and truncates the file to the limit.
    commit(sqlite, 1)
    expect(walSize()).toBeLessThanOrEqual(limit)
  })
})
