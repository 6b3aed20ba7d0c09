import type { Coordinator } from '@agent-comm/coordinator'
import type { Command } from '@oclif/core'
import { agentArg, BaseCommand, type CommandArgs } from './base-command.js'
import { examples } from './examples.js'

/**
 * A command that does one thing to one registered agent named by its id (`deregister`, `heartbeat`): the
 * argument, its example and the opening of the coordinator are here; each command says in `act` what it does.
 */
export abstract class AgentIdCommand<T extends typeof Command> extends BaseCommand<T> {
  static override examples = examples('agent-a')
  static override args = { name: agentArg('agent id') }

  async run(): Promise<unknown> {
    const { name } = this.args as CommandArgs<typeof AgentIdCommand>
    return this.act(await this.coordinator(), name)
  }

  /** Does the command's work to agent `agentId` and returns its `--json` output. */
  protected abstract act(coordinator: Coordinator, agentId: string): Promise<unknown>
}
