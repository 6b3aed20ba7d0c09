import type { Coordinator } from '@agent-comm/coordinator'
import { AgentIdCommand } from '../agent-id-command.js'
import { agentLine } from '../format.js'
import type { AgentResult } from '../json-output.js'

/** `agent-comm heartbeat`: marks an agent alive. */
export default class Heartbeat extends AgentIdCommand<typeof Heartbeat> {
  static override summary = 'Mark an agent alive (active) now.'
  static override description =
    'Sends, polls and acks already count as activity; a heartbeat is for an agent that is alive but idle. It also clears an offline mark.'

  protected override async act(coordinator: Coordinator, agentId: string): Promise<AgentResult> {
    const agent = await coordinator.heartbeat(agentId)
    this.log(`Heartbeat: ${agentLine(agent)} last seen ${agent.lastSeen ?? 'now'}`)
    return { agent }
  }
}
