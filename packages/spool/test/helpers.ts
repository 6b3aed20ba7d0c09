import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { testCleanups } from '@agent-comm/test-support'
import { Spool, type SpoolOptions } from '../src/index.js'

/** Cleanups after each test, and temporary folders removed with them. */
export const { onCleanup, tempDir } = testCleanups('agent-comm-spool-test-')

/** A spool on a fresh file with a manual clock, closed after the test. */
export async function openSpool(
  options: Partial<SpoolOptions> = {},
): Promise<{ spool: Spool; clock: ManualClock; path: string }> {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
  const path = options.path ?? join(tempDir(), 'coordination.db')
  const spool = await Spool.open({ ...options, path, clock })
  onCleanup(() => spool.close())
  return { spool, clock, path }
}

/** A plain message from architect to builder. */
export function task(body = 'Implement auth', extra: Record<string, unknown> = {}) {
  return { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body, ...extra }
}
