import { chmodSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ManualClock } from '@agent-comm/protocol'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { MISSING_DATABASE, READ_ONLY_DATABASE, Spool } from '../src/index.js'
import { onCleanup, openSpool, task, tempDir } from './helpers.js'

/** The error `promise` rejects with. */
async function failure(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; hint?: string; details?: Record<string, unknown> }> {
  try {
    await promise
  } catch (error) {
    return error as { code: string; message: string; details?: Record<string, unknown> }
  }
  throw new Error('expected a failure')
}

/** A database holding a few messages, half of them not yet in the full-text index; returns its path. */
async function populated(): Promise<{ path: string; clock: ManualClock }> {
  const { spool, clock, path } = await openSpool()
  await spool.send(task('alpha report on the parser', { conversationId: 'c1' }))
  await spool.send(task('nothing to see here', { conversationId: 'c1' }))
  // This search indexes the two messages above; the next two stay unindexed.
  await spool.search({ text: 'alpha' })
  await spool.send(task('second alpha finding', { conversationId: 'c2' }))
  await spool.send(task('Ålpha with a diacritic', { conversationId: 'c2' }))
  await spool.close()
  return { path, clock }
}

async function openReadOnly(path: string, clock: ManualClock): Promise<Spool> {
  const spool = await Spool.open({ path, readonly: true, clock })
  onCleanup(() => spool.close())
  return spool
}

describe('a spool opened read-only', () => {
  it('reads messages, conversations, stats and search results as a writable spool does', async () => {
    const { path, clock } = await populated()
    const readOnly = await openReadOnly(path, clock)
    const readOnlySearch = await readOnly.search({ text: 'alpha' })
    const readOnlyStats = await readOnly.stats()
    const readOnlyConversations = await readOnly.conversations()
    const readOnlyThread = await readOnly.conversation('c2')
    const readOnlyPending = await readOnly.pending('builder')
    const readOnlyVerify = await readOnly.verify()
    await readOnly.close()

    // The same questions to a writable spool on the same file (which then catches its index up).
    const writable = await Spool.open({ path, clock })
    onCleanup(() => writable.close())
    const expected = await writable.search({ text: 'alpha' })
    expect(expected.map((m) => m.body)).toEqual([
      'Ålpha with a diacritic',
      'second alpha finding',
      'alpha report on the parser',
    ])
    expect(readOnlySearch).toEqual(expected)
    expect(readOnlyStats).toEqual(await writable.stats())
    expect(readOnlyConversations).toEqual(await writable.conversations())
    expect(readOnlyThread).toEqual(await writable.conversation('c2'))
    expect(readOnlyPending).toEqual(await writable.pending('builder'))
    expect(readOnlyVerify.ok).toBe(true)
    expect(readOnlyVerify.checks).toContain('full-text index integrity-check: skipped (read-only database)')
  })

  it('refuses every write with a STORAGE error saying the database is read-only, and changes nothing', async () => {
    const { path, clock } = await populated()
    const before = readFileSync(path)
    const spool = await openReadOnly(path, clock)
    const [message] = await spool.search({ text: 'report' })
    const writes: [string, () => Promise<unknown>][] = [
      ['send', () => spool.send(task('more'))],
      ['claim', () => spool.claim('builder')],
      ['retryFailed', () => spool.retryFailed(message!.id)],
      ['cleanup', () => spool.cleanup({ ackedOlderThanMs: 0 })],
    ]
    for (const [name, write] of writes) {
      const error = await failure(write())
      expect({ name, code: error.code, reason: error.details?.reason }).toEqual({
        name,
        code: 'STORAGE',
        reason: READ_ONLY_DATABASE,
      })
      expect(error.message).toContain(`The database at ${path} is read-only for this user`)
      expect(error.hint).toMatch(/ask its owner/i)
    }
    await spool.close()
    expect(readFileSync(path).equals(before)).toBe(true)
  })

  // Root reads any file: the refusal is seen by another user only.
  it.skipIf(process.getuid?.() === 0)(
    'calls a file this user may not read unreadable, not read-only',
    async () => {
      const { path } = await populated()
      chmodSync(path, 0o000)
      onCleanup(() => chmodSync(path, 0o600))
      const error = await failure(Spool.open({ path }))
      expect(error).toMatchObject({ code: 'STORAGE', details: { reason: 'unreadable' } })
      expect(error.message).toContain('cannot be read by this user')
      expect(error.message).not.toContain('read-only')
    },
  )

  it('refuses a missing file instead of creating it', async () => {
    const path = join(tempDir(), 'absent.db')
    const error = await failure(Spool.open({ path, readonly: true }))
    expect(error.code).toBe('STORAGE')
    expect(error.details?.reason).toBe(MISSING_DATABASE)
  })

  it('refuses a schema older than this version with SCHEMA_VERSION instead of migrating it', async () => {
    const { path } = await populated()
    const raw = new Database(path)
    raw.exec(
      'DELETE FROM __agent_comm_spool_migrations WHERE id = (SELECT MAX(id) FROM __agent_comm_spool_migrations)',
    )
    const count = () => raw.prepare('SELECT COUNT(*) FROM __agent_comm_spool_migrations').pluck().get()
    const recorded = count()
    const error = await failure(Spool.open({ path, readonly: true }))
    expect(error.code).toBe('SCHEMA_VERSION')
    expect(error.message).toMatch(/older than this version.*read-only for this user/)
    expect(count()).toBe(recorded)
    raw.close()
  })

  it('refuses a schema newer than this version with SCHEMA_VERSION', async () => {
    const { path } = await populated()
    const raw = new Database(path)
    raw
      .prepare('INSERT INTO __agent_comm_spool_migrations (hash, created_at) VALUES (?, ?)')
      .run('from-the-future', Date.UTC(2099, 0, 1))
    raw.close()
    const error = await failure(Spool.open({ path, readonly: true }))
    expect(error.code).toBe('SCHEMA_VERSION')
    expect(error.message).toMatch(/newer than this version/)
  })
})
