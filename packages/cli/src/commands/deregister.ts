import type { Coordinator } from '@agent-comm/coordinator'
import { AgentIdCommand } from '../agent-id-command.js'
import type { DeregisterResult } from '../json-output.js'
import { safeLine } from '../terminal-text.js'

/** `agent-comm deregister`: removes an agent from the registry. */
export default class Deregister extends AgentIdCommand<typeof Deregister> {
  static override summary = 'Remove an agent from the registry.'
  static override description =
    'Messages already queued for the agent stay in the database (see `failed`, `cleanup`); new sends to it fail until it registers again.'

  protected override async act(coordinator: Coordinator, agentId: string): Promise<DeregisterResult> {
    await coordinator.deregister(agentId)
    this.log(safeLine(`Deregistered ${agentId}`))
    return { agentId, deregistered: true }
  }
}
