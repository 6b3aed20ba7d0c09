import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import { Registry, type RegistryOptions } from '../src/index.js'

/** Cleanups after each test, and temporary folders removed with them. */
export const { onCleanup, tempDir } = testCleanups('agent-comm-registry-test-')

/** The moment every test clock starts at. */
export const START = Date.UTC(2026, 1, 3, 14, 30)

/**
 * A spool on a fresh file and a registry on the spool's connection, the way the coordinator composes
 * them, both with one manual clock; closed after the test.
 */
export async function openRegistry(
  options: Omit<RegistryOptions, 'sqlite' | 'path'> = {},
): Promise<{ registry: Registry; spool: Spool; clock: ManualClock; path: string }> {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(START)
  const path = join(tempDir(), 'coordination.db')
  const spool = await Spool.open({ path, clock })
  onCleanup(() => spool.close())
  const registry = await Registry.open({ ...options, spool, clock })
  onCleanup(() => registry.close())
  return { registry, spool, clock, path }
}

/** Minutes and hours in milliseconds, to move a clock by. */
export const minutes = (n: number): number => n * 60_000
export const hours = (n: number): number => n * 3_600_000
