import { fileURLToPath } from 'node:url'
import {
  type Coordinator,
  type CreateCoordinatorOptions,
  createCoordinator,
  loadConfig,
} from '@agent-comm/coordinator'
import { testCleanups } from '@agent-comm/test-support'

/** Cleanups after each test, and temporary folders removed with them. */
export const { onCleanup, tempDir } = testCleanups('agent-comm-bridge-test-')

/** A coordinator on a fresh database with `architect` and `builder` registered. */
export async function openCoordinator(options: CreateCoordinatorOptions = {}): Promise<Coordinator> {
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: tempDir() }), options)
  onCleanup(() => coord.close())
  await coord.register({ agentId: 'architect' })
  await coord.register({ agentId: 'builder' })
  return coord
}

/** The command-line agent fixture. */
export const agentScript = fileURLToPath(new URL('./fixtures/agent.mjs', import.meta.url))
