// One identity per session: which agent an MCP session acts as, and the checks that keep it from acting
// as any other.
import type { Coordinator } from '@agent-comm/coordinator'
import {
  AgentIdSchema,
  AgentNotFoundError,
  ForbiddenError,
  MessageNotFoundError,
  type MessageStatus,
  parseOrThrow,
  sentOrReceivedBy,
  ValidationError,
} from '@agent-comm/protocol'

/** How often a bound session's agent is marked alive while the session lasts. */
const HEARTBEAT_INTERVAL_MS = 60_000

/** Which agent a session is, from `--agent`, `AGENT_COMM_AGENT` or an HTTP session's header. */
export interface IdentityOptions {
  /** The agent this session acts as. Without it every tool takes the agent as a parameter. */
  agent?: string | undefined
  /**
   * Operator switch (`--allow-any-agent`): a bound session may still act as other agents when it names
   * them explicitly. Off by default: naming another agent is refused with `FORBIDDEN`.
   */
  allowOtherAgents?: boolean | undefined
}

/**
 * The agent a session acts as. Bound (`agent` given), it registers the agent if needed, heartbeats it
 * while the session lasts, fills in `from_agent` / `agent_id` when the model leaves them out and refuses
 * any other agent. Unbound, the model names the agent on every call and an unregistered sender is refused.
 */
export class SessionIdentity {
  readonly agent: string | undefined
  readonly allowOtherAgents: boolean
  readonly #coordinator: Coordinator
  #started: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(coordinator: Coordinator, options: IdentityOptions = {}) {
    this.#coordinator = coordinator
    this.agent =
      options.agent === undefined || options.agent.trim() === ''
        ? undefined
        : parseOrThrow(AgentIdSchema, options.agent.trim(), 'agent id (--agent / AGENT_COMM_AGENT)')
    this.allowOtherAgents = options.allowOtherAgents === true
  }

  /** Registers (if unknown) and heartbeats the bound agent, then keeps heartbeating it. Runs once. */
  start(): Promise<void> {
    this.#started ??= this.#start()
    return this.#started
  }

  async #start(): Promise<void> {
    const agent = this.agent
    if (agent === undefined || this.#closed) return
    const coordinator = this.#coordinator
    // An existing profile keeps its capabilities and transport: only presence is recorded.
    if ((await coordinator.agent(agent)) === undefined) {
      await this.#coordinator.register({ agentId: agent, capabilities: [] })
    }
    await coordinator.heartbeat(agent)
    if (this.#closed) return
    this.#timer = setInterval(() => {
      coordinator.heartbeat(agent).catch(() => {
        // A deregistered agent or a closed store: presence is a hint, the next call reports the problem.
      })
    }, HEARTBEAT_INTERVAL_MS)
    this.#timer.unref()
  }

  /** Stops the heartbeat. */
  close(): void {
    this.#closed = true
    clearInterval(this.#timer)
  }

  /**
   * The agent whose view this session's reads are limited to — history, search, message status and the
   * inbox and conversation resources show only what it sent or received — in a bound session (unless the
   * operator allowed acting as others). Undefined for an unbound session, which reads everything, as the
   * CLI does.
   */
  get readsAs(): string | undefined {
    return this.allowOtherAgents ? undefined : this.agent
  }

  /** Refuses, as not found (ids cannot be probed), a message this session's agent neither sent nor received. */
  assertMayRead(status: MessageStatus): void {
    const reader = this.readsAs
    if (reader !== undefined && !sentOrReceivedBy(status, reader)) {
      throw new MessageNotFoundError(status.message.id)
    }
  }

  /**
   * Refuses, in a bound session, to wait for the reply to a request another agent sent (`requester`):
   * the reply would be taken from that agent's inbox and acked. Unbound sessions and operator-started ones
   * (`--allow-any-agent`) may wait for any request.
   */
  async assertOwnRequest(requestId: string, requester: string): Promise<void> {
    const bound = this.agent
    if (bound === undefined || requester === bound || this.allowOtherAgents) return
    await this.start()
    throw new ForbiddenError(
      `This session acts as '${bound}': request '${requestId}' was sent by '${requester}', so its reply is not this session's to take`,
      {
        hint: `Wait only for replies to requests this session sent (comm_request returns their request_id); read the thread with comm_get_conversation (message_id: '${requestId}') instead. Acting as other agents needs a server started with --allow-any-agent by its operator.`,
        details: { requestId, agentId: requester, sessionAgent: bound },
      },
    )
  }

  /**
   * The agent a call acts as, given what the model passed as `parameter` (`from_agent` or `agent_id`).
   * Bound: the session's agent when absent or equal, `FORBIDDEN` for another one (unless the operator
   * allowed it). Unbound: the given agent, or a validation error naming the parameter when absent.
   * `mustBeRegistered` refuses an unregistered agent (senders).
   */
  async actingAs(
    given: string | undefined,
    parameter: string,
    tool: string,
    mustBeRegistered: boolean,
  ): Promise<string> {
    const bound = this.agent
    if (bound !== undefined) {
      await this.start()
      if (given === undefined || given === bound) return bound
      if (!this.allowOtherAgents) {
        throw new ForbiddenError(`This session acts as '${bound}': ${tool} as '${given}' is refused`, {
          hint: `Leave ${parameter} out (it defaults to '${bound}'). Acting as other agents needs a server started with --allow-any-agent by its operator.`,
          details: { agentId: given, sessionAgent: bound },
        })
      }
    } else if (given === undefined) {
      throw new ValidationError(`Invalid arguments: ${parameter} is required`, [
        { path: parameter, message: 'is required (this server was started without --agent)' },
      ])
    }
    const agent = given
    if (mustBeRegistered && (await this.#coordinator.agent(agent)) === undefined) {
      throw new AgentNotFoundError(agent)
    }
    return agent
  }
}
