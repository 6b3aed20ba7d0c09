import { describe, expect, it } from 'vitest'
import { sqliteConnectionOf } from '../src/testing.js'
import { openSpool, task } from './helpers.js'

// The store-neutral query cases (status, pending, conversations, search, stats, verify, cleanup) are in
// @agent-comm/spool-contract, run by contract.test.ts; these read or write SQLite itself.
describe('queries', () => {
  it('verifies a healthy database and names every check it ran', async () => {
    const { spool } = await openSpool()
    await spool.send(task())
    const report = await spool.verify()
    expect(report.ok).toBe(true)
    expect(report.problems).toEqual([])
    expect(report.checks).toContain('PRAGMA integrity_check')
  })

  it('finds a broken invariant', async () => {
    const { spool } = await openSpool()
    const { messageId } = await spool.send(task())
    sqliteConnectionOf(spool)
      .prepare(
        `UPDATE deliveries SET status = 'leased', lease_until = NULL WHERE message_seq = (SELECT seq FROM messages WHERE id = ?)`,
      )
      .run(messageId)
    const report = await spool.verify()
    expect(report.ok).toBe(false)
    expect(report.problems.join('\n')).toMatch(/leased deliveries have a lease expiry/)
  })
})
