import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import {
  advanceCursor,
  LATE_COMMIT_WINDOW_MS,
  MAX_RECENT,
  type MailCursor,
  NO_CURSOR,
  type UnclaimedMailRow,
  unclaimedMailParams,
  unclaimedMailSql,
} from '../src/unclaimed-mail.js'
import { openSpool, task } from './helpers.js'

const row = (seq: number, createdAt: number): UnclaimedMailRow => ({
  seq,
  id: `m${seq}`,
  from_agent: 'architect',
  subject: 'Task',
  priority: 2,
  created_at: createdAt,
})

/** The subjects the hooks' statement finds for builder on the SQLite file `path` at `now`, new to `cursor`. */
function read(path: string, now: number, cursor: MailCursor): UnclaimedMailRow[] {
  const db = new Database(path, { readonly: true })
  try {
    const sql = unclaimedMailSql({ deliveries: 'deliveries', messages: 'messages' }, (name) => `@${name}`)
    return db.prepare(sql).all(unclaimedMailParams('builder', now, cursor)) as UnclaimedMailRow[]
  } finally {
    db.close()
  }
}

describe('advanceCursor', () => {
  it('stays where it was when nothing was shown', () => {
    expect(advanceCursor({ seq: 4, checkedAt: 100, recent: [] }, [], 200)).toBeUndefined()
  })

  it('moves past the highest seq shown and remembers what it showed of the mail created within the window', () => {
    const now = 1_000_000
    const cursor = advanceCursor(
      { seq: 3, checkedAt: now - 5_000, recent: [{ seq: 2, createdAt: now - LATE_COMMIT_WINDOW_MS }] },
      [row(7, now - 10), row(5, now - LATE_COMMIT_WINDOW_MS + 1), row(1, now - 3_600_000)],
      now,
    )
    // Seq 2 (created exactly a window ago) and seq 1 (an hour old, shown because it just became due) are
    // outside the window: no read looks at them again as late commits.
    expect(cursor).toEqual({
      seq: 7,
      checkedAt: now,
      recent: [
        { seq: 5, createdAt: now - LATE_COMMIT_WINDOW_MS + 1 },
        { seq: 7, createdAt: now - 10 },
      ],
    })
  })

  it('keeps what an earlier read showed while it is within the window, once each', () => {
    const first = advanceCursor(NO_CURSOR, [row(1, 1_000), row(2, 1_500)], 2_000)
    const second = advanceCursor(first as MailCursor, [row(2, 1_500), row(3, 2_500)], 3_000)
    expect(second?.recent).toEqual([
      { seq: 1, createdAt: 1_000 },
      { seq: 2, createdAt: 1_500 },
      { seq: 3, createdAt: 2_500 },
    ])
  })

  it(`remembers at most ${MAX_RECENT} messages, the newest`, () => {
    const rows = Array.from({ length: MAX_RECENT + 5 }, (_, i) => row(i + 1, 10_000 + i))
    const recent = advanceCursor(NO_CURSOR, rows, 20_000)?.recent ?? []
    expect(recent).toHaveLength(MAX_RECENT)
    expect(recent[0]).toEqual({ seq: 6, createdAt: 10_005 })
  })
})

describe('the hooks’ statement', () => {
  it('shows mail below the cursor’s seq created within the window before its check unless the cursor showed it', async () => {
    const { spool, clock, path } = await openSpool()
    await spool.send(task('late'))
    clock.advance(1_000)
    await spool.send(task('early'))
    const [late, early] = read(path, clock.now(), NO_CURSOR).sort((a, b) => a.seq - b.seq)
    if (late === undefined || early === undefined) throw new Error('both messages wait for builder')
    clock.advance(1_000)
    // A read that saw only the higher seq, as on PostgreSQL when the lower one's send had not committed.
    const sawOnlyEarly = advanceCursor(NO_CURSOR, [early], clock.now()) as MailCursor
    clock.advance(1_000)
    expect(read(path, clock.now(), sawOnlyEarly).map((mail) => mail.seq)).toEqual([late.seq])
    // Once shown, neither is new again.
    const sawBoth = advanceCursor(sawOnlyEarly, [late], clock.now()) as MailCursor
    clock.advance(1_000)
    expect(read(path, clock.now(), sawBoth)).toEqual([])
    // A cursor of an older version remembers nothing: the window's mail is shown again (a repeat, not a loss).
    const { seq, checkedAt } = sawBoth
    expect(read(path, clock.now(), { seq, checkedAt })).toHaveLength(2)
    // Past the window nothing is looked at again.
    const later = { seq: early.seq, checkedAt: early.created_at + LATE_COMMIT_WINDOW_MS, recent: [] }
    clock.advance(LATE_COMMIT_WINDOW_MS)
    expect(read(path, clock.now(), later)).toEqual([])
  })
})
