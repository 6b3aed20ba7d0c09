import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { Spool } from '../src/index.js'
import { sqliteConnectionOf } from '../src/testing.js'
import { tempDir } from './helpers.js'
import { firstJsonLine, runFixture, startFixture } from './processes.js'

/**
 * Each test here starts several Node processes that import the spool and SQLite: on an idle machine they take
 * seconds, on a loaded 2-core CI runner (load 14 has been seen) many times that. The bound is there to catch
 * a hang, not to measure speed.
 */
const MULTI_PROCESS_TIMEOUT_MS = 300_000

describe('many processes on one database file', { timeout: MULTI_PROCESS_TIMEOUT_MS }, () => {
  it('lets 4 worker processes ack 4,000 messages exactly once, with none lost and no lock errors', async () => {
    const path = join(tempDir(), 'shared.db')
    const spool = await Spool.open({ path })
    try {
      const ids: string[] = []
      // The workers start first and wait (a worker that started late could find the queue drained by the
      // others, and then the test would not show them sharing the work); half the messages are queued the
      // moment all four are waiting, half while they run.
      const sendHalf = async (offset: number) => {
        for (let batch = 0; batch < 20; batch++) {
          const results = await spool.sendBatch(
            Array.from({ length: 100 }, (_, i) => ({
              message: { fromAgent: 'producer', toAgent: 'builder', body: `job ${offset + batch * 100 + i}` },
            })),
          )
          ids.push(...results.map((r) => r.messageId))
        }
      }
      const children = Array.from({ length: 4 }, () =>
        startFixture('worker.mjs', [path, 'builder', '4000'], { input: true }),
      )
      const workers = children.map((child) => firstJsonLine<{ acked?: string[]; error?: string }>(child))
      await Promise.all(children.map((child) => readyOn(child)))
      // Each worker holds its first claim until all four hold one: on a loaded machine the first to wake
      // could otherwise drain the queue alone, and the test would not show them sharing the work.
      const claimedAll = Promise.all(children.map((child) => readyOn(child, 'claimed')))
      await sendHalf(0)
      await claimedAll
      for (const child of children) child.stdin?.write('go\n')
      await sendHalf(2000)
      const reports = await Promise.all(workers)

      for (const report of reports) expect(report.error).toBeUndefined()
      const acked = reports.flatMap((r) => r.acked ?? [])
      expect(acked).toHaveLength(4000)
      expect(new Set(acked).size).toBe(4000)
      expect(new Set(acked)).toEqual(new Set(ids))
      expect(reports.filter((r) => (r.acked?.length ?? 0) > 0).length).toBeGreaterThan(1)

      const stats = await spool.stats()
      expect(stats.deliveries).toMatchObject({ acked: 4000, queued: 0, leased: 0, failed: 0 })
      // Every delivery was handed out once: no lease was ever lost and redelivered.
      const attempts = sqliteConnectionOf(spool).prepare('SELECT MAX(attempt) FROM deliveries').pluck().get()
      expect(attempts).toBe(1)
      expect((await spool.verify()).ok).toBe(true)
    } finally {
      await spool.close()
    }
  })

  it('lets two processes create a fresh file at the same moment, again and again', async () => {
    const dir = tempDir()
    // Two processes started and loaded once, then handed the same new path at the same moment each round:
    // their opens race however slowly a busy machine starts Node, and the rounds cost no process starts.
    const openers = [0, 1].map(() => startFixture('open-rounds.mjs', [], { input: true }))
    await Promise.all(openers.map((child) => readyOn(child)))
    const reports = openers.map((child) => createInterface({ input: child.stdout! })[Symbol.asyncIterator]())
    for (let round = 0; round < 8; round++) {
      const path = join(dir, `pair-${round}.db`)
      for (const child of openers) child.stdin!.write(`${path}\n`)
      const results = await Promise.all(
        reports.map(async (lines) => {
          const line = await lines.next()
          if (line.done === true) throw new Error(`an opener exited before reporting round ${round}`)
          return JSON.parse(line.value)
        }),
      )
      expect(results).toEqual([{ ok: true }, { ok: true }])
    }
    for (const child of openers) child.stdin!.end()
  })

  it('lets several processes create and migrate a fresh database at the same moment', async () => {
    const path = join(tempDir(), 'fresh.db')
    const reports = await Promise.all(
      Array.from({ length: 4 }, (_, n) =>
        runFixture<{ ok: boolean; error?: string }>('open.mjs', [path, String(n)]),
      ),
    )
    expect(reports).toEqual(Array.from({ length: 4 }, () => ({ ok: true })))
    const spool = await Spool.open({ path })
    try {
      expect((await spool.stats()).deliveries.queued).toBe(4)
    } finally {
      await spool.close()
    }
  })
})

/** Resolves when the worker says on stderr that it is connected and waiting. */
function readyOn(child: ChildProcess, word = 'ready'): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = ''
    child.stderr?.on('data', (chunk) => {
      err += chunk
      if (err.includes(`${word}\n`)) resolve()
    })
    child.on('exit', (code) => reject(new Error(`worker exited with ${code} before it was ${word}: ${err}`)))
  })
}
