import type { MessageV2 } from '@agent-comm/protocol'

/** Where an agent-comm conversation stands with a remote A2A agent. */
export interface A2ARemoteTask {
  /** The remote context the conversation's messages go to. */
  contextId: string
  /** The remote task waiting for input (input-required, auth-required); the next message continues it. */
  taskId?: string
}

/**
 * Remembers, per agent-comm conversation, the remote A2A context and the task waiting for an answer, so a
 * later message in the same conversation goes to the same remote task. {@link InMemoryA2ASessions} by
 * default; give a durable one to keep them across restarts of the bridge.
 */
export interface A2ASessions {
  get(conversationId: string): Promise<A2ARemoteTask | undefined> | A2ARemoteTask | undefined
  set(conversationId: string, task: A2ARemoteTask): Promise<void> | void
}

/** {@link A2ASessions} in this process's memory, the most recent `limit` conversations (10 000). */
export class InMemoryA2ASessions implements A2ASessions {
  readonly #map = new Map<string, A2ARemoteTask>()
  readonly #limit: number

  constructor(options: { limit?: number } = {}) {
    this.#limit = options.limit ?? 10_000
  }

  get(conversationId: string): A2ARemoteTask | undefined {
    return this.#map.get(conversationId)
  }

  set(conversationId: string, task: A2ARemoteTask): void {
    // Re-inserted so the map's order is least recently used first.
    this.#map.delete(conversationId)
    this.#map.set(conversationId, task)
    if (this.#map.size > this.#limit) this.#map.delete(this.#map.keys().next().value as string)
  }
}

/**
 * {@link A2ASessions} read from the conversation itself, so they survive restarts of the bridge (and
 * `bridge --once` runs): the bridge's replies carry the remote task in `payload.data.a2a` (`contextId`,
 * `taskId`, `state`), and the newest reply of the bridged `agent` in the conversation says where it
 * stands. `set` writes nothing: the reply the bridge sends next records it.
 */
export class ConversationA2ASessions implements A2ASessions {
  readonly #conversation: (conversationId: string) => Promise<readonly MessageV2[]>
  readonly #agent: string

  constructor(options: {
    /** Every message of a conversation, oldest first (`Coordinator.conversation`). */
    conversation: (conversationId: string) => Promise<readonly MessageV2[]>
    /** The agent the bridge answers for: its replies are the bridge's. */
    agent: string
  }) {
    this.#conversation = options.conversation
    this.#agent = options.agent
  }

  async get(conversationId: string): Promise<A2ARemoteTask | undefined> {
    const messages = await this.#conversation(conversationId)
    for (let i = messages.length - 1; i >= 0; i--) {
      const message = messages[i]!
      if (message.fromAgent !== this.#agent) continue
      const data = message.payload?.data
      if (typeof data !== 'object' || data === null || Array.isArray(data)) continue
      const a2a = (data as { a2a?: { contextId?: unknown; taskId?: unknown; state?: unknown } }).a2a
      if (typeof a2a?.contextId !== 'string' || a2a.contextId === '') continue
      const waiting = a2a.state === 'input-required' && typeof a2a.taskId === 'string' && a2a.taskId !== ''
      return { contextId: a2a.contextId, ...(waiting ? { taskId: a2a.taskId as string } : {}) }
    }
    return undefined
  }

  set(): void {}
}

/** Prefix of the variables holding bearer tokens for remote A2A agents. */
export const A2A_TOKEN_ENV = 'AGENT_COMM_A2A_TOKEN'

/**
 * The variable holding the bearer token of remote agent `agentId`, named as the relay secrets are
 * (`AGENT_COMM_SECRET_<AGENT>`): `AGENT_COMM_A2A_TOKEN_` and the id upper-cased with `-` as `_` for ids
 * of lower-case letters, digits and single hyphens (`partner-b` → `AGENT_COMM_A2A_TOKEN_PARTNER_B`);
 * `AGENT_COMM_A2A_TOKEN__` and the hex of the id otherwise, so two ids never share a variable.
 */
export function a2aTokenEnvName(agentId: string): string {
  if (/^[a-z0-9]+(-[a-z0-9]+)*$/.test(agentId)) {
    return `${A2A_TOKEN_ENV}_${agentId.toUpperCase().replaceAll('-', '_')}`
  }
  return `${A2A_TOKEN_ENV}__${Buffer.from(agentId, 'utf8').toString('hex').toUpperCase()}`
}

/**
 * The bearer token for remote agent `agentId` from `env` (composition roots pass `process.env`): its own
 * variable ({@link a2aTokenEnvName}) if set, else the shared `AGENT_COMM_A2A_TOKEN`, else undefined.
 */
export function a2aTokenFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  agentId: string,
): string | undefined {
  for (const name of [a2aTokenEnvName(agentId), A2A_TOKEN_ENV]) {
    const value = env[name]?.trim()
    if (value !== undefined && value !== '') return value
  }
  return undefined
}
