import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type Coordinator,
  type CreateCoordinatorOptions,
  createCoordinator,
  loadConfig,
} from '@agent-comm/coordinator'
import { afterEach } from 'vitest'

const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A fresh temporary folder, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-comm-bridge-test-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A coordinator on a fresh database with `architect` and `builder` registered. */
export async function openCoordinator(options: CreateCoordinatorOptions = {}): Promise<Coordinator> {
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: tempDir() }), options)
  cleanups.push(() => coord.close())
  await coord.register({ agentId: 'architect' })
  await coord.register({ agentId: 'builder' })
  return coord
}

/** The command-line agent fixture. */
export const agentScript = fileURLToPath(new URL('./fixtures/agent.mjs', import.meta.url))
