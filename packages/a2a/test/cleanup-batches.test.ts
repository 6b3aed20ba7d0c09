import { isAgentCommError, ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { A2A_CLEANUP_BATCH, cleanupA2ATasks } from '../src/index.js'

const DAY = 86_400_000

/** A store whose removeFinishedTasks removes `counts` in turn (then none), recording what it was asked. */
function fakeStore(counts: number[]) {
  const calls: { cutoff: number; dryRun: boolean; limit?: number }[] = []
  return {
    calls,
    removeFinishedTasks: async (params: { cutoff: number; dryRun: boolean; limit?: number }) => {
      calls.push(params)
      const tasks = counts.shift() ?? 0
      return { tasks, callerMessages: tasks * 2 }
    },
  }
}

describe('cleanupA2ATasks', () => {
  it('removes a backlog in batches of a thousand, each its own call, with one cutoff, and reports the total', async () => {
    const clock = new ManualClock(10 * DAY)
    const store = fakeStore([1000, 1000, 7])
    expect(await cleanupA2ATasks(store, { olderThanMs: 2 * DAY, clock })).toEqual({
      tasks: 2007,
      callerMessages: 4014,
    })
    expect(A2A_CLEANUP_BATCH).toBe(1000)
    expect(store.calls).toEqual([
      { cutoff: 8 * DAY, dryRun: false, limit: 1000 },
      { cutoff: 8 * DAY, dryRun: false, limit: 1000 },
      { cutoff: 8 * DAY, dryRun: false, limit: 1000 },
    ])
  })

  it('takes another batch size, and stops after the current batch when asked to', async () => {
    const clock = new ManualClock(10 * DAY)
    const store = fakeStore([2, 2, 2, 1])
    let batches = 0
    const stopped = () => ++batches === 2
    expect(await cleanupA2ATasks(store, { olderThanMs: DAY, clock, batchSize: 2, stopped })).toEqual({
      tasks: 4,
      callerMessages: 8,
    })
    expect(store.calls.map((call) => call.limit)).toEqual([2, 2])
  })

  it('only counts, in one read, on a dry run', async () => {
    const store = fakeStore([2500])
    expect(
      await cleanupA2ATasks(store, { olderThanMs: DAY, clock: new ManualClock(10 * DAY), dryRun: true }),
    ).toEqual({ tasks: 2500, callerMessages: 5000 })
    expect(store.calls).toEqual([{ cutoff: 9 * DAY, dryRun: true }])
  })

  it('refuses a batch size that is not a whole number of at least 1, naming it', async () => {
    for (const batchSize of [0, -1, 1.5]) {
      const refused = await cleanupA2ATasks(fakeStore([]), {
        olderThanMs: DAY,
        clock: new ManualClock(),
        batchSize,
      }).catch((error: unknown) => error)
      expect(isAgentCommError(refused, 'VALIDATION')).toBe(true)
      expect(refused).toMatchObject({ issues: [{ path: 'batchSize' }] })
    }
  })
})
