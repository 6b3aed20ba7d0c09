import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readCursor, writeCursor } from '../src/hook-cursor.js'
import { tempDir } from './helpers.js'

describe('the hook’s cursor file', () => {
  it('keeps the seq, the check time and the mail it remembers, on one short line', () => {
    const file = join(tempDir(), 'hooks', 'codex--builder.cursor')
    const cursor = {
      seq: 12,
      checkedAt: 5_000,
      recent: [
        { seq: 9, createdAt: 4_000 },
        { seq: 12, createdAt: 4_500 },
      ],
    }
    writeCursor(file, cursor)
    expect(readFileSync(file, 'utf8')).toBe('12 5000 9:4000 12:4500\n')
    expect(readCursor(file)).toEqual(cursor)
  })

  it('reads a file of an older version as remembering nothing, and forgets a damaged word', () => {
    const file = join(tempDir(), 'codex--builder.cursor')
    writeFileSync(file, '12 5000\n')
    expect(readCursor(file)).toEqual({ seq: 12, checkedAt: 5_000, recent: [] })
    writeFileSync(file, '12\n')
    expect(readCursor(file)).toEqual({ seq: 12, checkedAt: Number.MAX_SAFE_INTEGER, recent: [] })
    writeFileSync(file, '12 5000 9:x 10:4100 -1:3\n')
    expect(readCursor(file)).toEqual({ seq: 12, checkedAt: 5_000, recent: [{ seq: 10, createdAt: 4_100 }] })
  })
})
