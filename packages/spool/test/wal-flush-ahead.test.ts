import * as fs from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WAL_FLUSH_AHEAD_COMMITS } from '../src/sqlite/wal-flush-ahead.js'
import { openSpool, task } from './helpers.js'

// The flushes ahead go through node:fs's fdatasync: each call's file is recorded (its inode), then it runs.
const flushed: bigint[] = []
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>()
  return {
    ...actual,
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      flushed.push(actual.fstatSync(fd, { bigint: true }).ino)
      actual.fdatasync(fd, callback)
    },
  }
})

afterEach(() => {
  flushed.length = 0
})

describe('a SQLite spool’s WAL', () => {
  it('is synced off the event loop every WAL_FLUSH_AHEAD_COMMITS commits, ahead of its checkpoint', async () => {
    const { spool, path } = await openSpool()
    for (let i = 0; i < WAL_FLUSH_AHEAD_COMMITS * 2; i++) await spool.send(task(`task ${i}`))
    const wal = fs.statSync(`${path}-wal`, { bigint: true }).ino
    expect(flushed.length).toBeGreaterThan(0)
    expect(flushed.every((ino) => ino === wal)).toBe(true)
  })

  it('is not synced ahead while fewer commits than that were made', async () => {
    const { spool } = await openSpool()
    for (let i = 0; i < WAL_FLUSH_AHEAD_COMMITS - 2; i++) await spool.send(task(`task ${i}`))
    expect(flushed).toEqual([])
  })

  it('is not synced ahead in memory', async () => {
    const { spool } = await openSpool({ path: ':memory:' })
    for (let i = 0; i < WAL_FLUSH_AHEAD_COMMITS * 2; i++) await spool.send(task(`task ${i}`))
    expect(flushed).toEqual([])
  })
})
