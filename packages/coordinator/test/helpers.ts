import { join } from 'node:path'
import { ManualClock, type Transport } from '@agent-comm/protocol'
import { testCleanups } from '@agent-comm/test-support'
import { SqliteTransport } from '@agent-comm/transport-sqlite'
import {
  type Coordinator,
  type CreateCoordinatorOptions,
  createCoordinator,
  loadConfig,
} from '../src/index.js'

/** Cleanups after each test, and temporary folders removed with them. */
export const { onCleanup, tempDir } = testCleanups('agent-comm-coordinator-test-')

/** A coordinator on a fresh project folder with a manual clock, closed after the test. */
export async function openCoordinator(
  options: CreateCoordinatorOptions & { env?: Record<string, string> } = {},
): Promise<{ coord: Coordinator; clock: ManualClock; root: string }> {
  const root = tempDir()
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
  const config = loadConfig({ AGENT_COMM_PROJECT_ROOT: root, ...options.env })
  const coord = await createCoordinator(config, { ...options, clock })
  onCleanup(() => coord.close())
  return { coord, clock, root }
}

/**
 * A stand-in for the HTTP relay transport: a real spool on its own file that reports kind `http` and
 * records which agents each send went to.
 */
export async function fakeHttpTransport(
  clock: ManualClock,
): Promise<{ transport: Transport; sends: string[][] }> {
  const inner = await SqliteTransport.open({ path: join(tempDir(), 'relay.db'), clock })
  onCleanup(() => inner.close())
  const sends: string[][] = []
  const transport: Transport = {
    kind: 'http',
    send: (message, options) => {
      sends.push([...(options?.recipients ?? [message.toAgent])])
      return inner.send(message, options)
    },
    claim: (agent, options) => inner.claim(agent, options),
    ack: (id, agent, options) => inner.ack(id, agent, options),
    nack: (id, agent, options) => inner.nack(id, agent, options),
    extendLease: (id, agent, options) => inner.extendLease(id, agent, options),
    status: (id) => inner.status(id),
    waitForMessages: (agent, options) => inner.waitForMessages(agent, options),
    claimReply: (agent, requestId, options) => inner.claimReply(agent, requestId, options),
    close: async () => {},
  }
  return { transport, sends }
}
