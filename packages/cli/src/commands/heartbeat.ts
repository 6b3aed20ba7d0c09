import type { AgentProfile } from '@agent-comm/protocol'
import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { agentLine } from '../format.js'

/** `--json` output of `heartbeat`. */
export interface HeartbeatResult {
  agent: AgentProfile
}

/** `agent-comm heartbeat`: marks an agent alive. */
export default class Heartbeat extends BaseCommand<typeof Heartbeat> {
  static override summary = 'Mark an agent alive (active) now.'
  static override description =
    'Sends, polls and acks already count as activity; a heartbeat is for an agent that is alive but idle. It also clears an offline mark.'
  static override examples = ['<%= config.bin %> <%= command.id %> agent-a']
  static override args = {
    name: Args.string({ description: 'agent id', required: true }),
  }

  async run(): Promise<HeartbeatResult> {
    const coordinator = await this.coordinator()
    const agent = await coordinator.heartbeat(this.args.name)
    this.log(`Heartbeat: ${agentLine(agent)} last seen ${agent.lastSeen ?? 'now'}`)
    return { agent }
  }
}
