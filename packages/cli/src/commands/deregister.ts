import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { safeLine } from '../terminal-text.js'

/** `--json` output of `deregister`. */
export interface DeregisterResult {
  agentId: string
  deregistered: true
}

/** `agent-comm deregister`: removes an agent from the registry. */
export default class Deregister extends BaseCommand<typeof Deregister> {
  static override summary = 'Remove an agent from the registry.'
  static override description =
    'Messages already queued for the agent stay in the database (see `failed`, `cleanup`); new sends to it fail until it registers again.'
  static override examples = ['<%= config.bin %> <%= command.id %> agent-a']
  static override args = {
    name: Args.string({ description: 'agent id', required: true }),
  }

  async run(): Promise<DeregisterResult> {
    const coordinator = await this.coordinator()
    await coordinator.deregister(this.args.name)
    this.log(safeLine(`Deregistered ${this.args.name}`))
    return { agentId: this.args.name, deregistered: true }
  }
}
