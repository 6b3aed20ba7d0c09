import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { afterEach } from 'vitest'
import { Spool, type SpoolOptions } from '../src/index.js'

const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A fresh temporary folder, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-comm-spool-test-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A spool on a fresh file with a manual clock, closed after the test. */
export async function openSpool(
  options: Partial<SpoolOptions> = {},
): Promise<{ spool: Spool; clock: ManualClock; path: string }> {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
  const path = options.path ?? join(tempDir(), 'coordination.db')
  const spool = await Spool.open({ ...options, path, clock })
  cleanups.push(() => spool.close())
  return { spool, clock, path }
}

/** Registers a cleanup to run after the current test. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn)
}

/** A plain message from architect to builder. */
export function task(body = 'Implement auth', extra: Record<string, unknown> = {}) {
  return { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body, ...extra }
}
