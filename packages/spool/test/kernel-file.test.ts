import { statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isKernelFile } from '../src/sqlite/kernel-file.js'
import { tempDir } from './helpers.js'

describe('telling a kernel file from a database file', () => {
  it('takes an empty file that another process writes between our stat and our read for a real file', () => {
    // Two processes creating a fresh database at once: one stats the file while it is still empty, the
    // other writes SQLite's header before the first reads it. A kernel file stays 0 bytes however much it
    // reads; this one has grown, so it is stored bytes, not a generated view.
    const path = join(tempDir(), 'coordination.db')
    writeFileSync(path, '')
    const staleStat = statSync(path)
    writeFileSync(path, 'SQLite format 3\0')
    expect(staleStat.size).toBe(0)
    expect(isKernelFile(path, staleStat)).toBe(false)
  })

  it('takes an empty file that reads nothing for a real (new) file', () => {
    const path = join(tempDir(), 'empty.db')
    writeFileSync(path, '')
    expect(isKernelFile(path, statSync(path))).toBe(false)
  })
})
