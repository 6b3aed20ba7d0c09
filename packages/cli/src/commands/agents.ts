import type { AgentProfile } from '@agent-comm/protocol'
import { AGENT_STATUSES } from '@agent-comm/protocol/vocabulary'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { examples } from '../examples.js'
import { agentLine } from '../format.js'
import type { AgentsResult } from '../json-output.js'

/** `agent-comm agents`: lists registered agents in the original CLI's format. */
export default class Agents extends BaseCommand<typeof Agents> {
  protected override readonly readsOnly = true

  static override summary = 'List registered agents.'
  static override description =
    'One line per agent: id, status (active, inactive or offline, from when it was last seen), capabilities, device and transport.'
  static override examples = examples('', '--capability research', '--status active --json')
  static override flags = {
    capability: Flags.string({ description: 'only agents with this capability' }),
    status: Flags.string({ description: 'only agents with this status', options: [...AGENT_STATUSES] }),
  }

  async run(): Promise<AgentsResult> {
    const coordinator = await this.coordinator()
    const agents = await coordinator.agents({
      capability: this.flags.capability,
      status: this.flags.status as AgentProfile['status'] | undefined,
    })
    const filtered = this.flags.capability !== undefined || this.flags.status !== undefined
    if (agents.length === 0) this.log(filtered ? 'No registered agents match.' : 'No agents registered.')
    else
      this.log(
        [`Registered agents (${agents.length}):`, ...agents.map((a) => `  ${agentLine(a)}`)].join('\n'),
      )
    return { count: agents.length, agents }
  }
}
