import { BaseCommand } from '../base-command.js'
import { examples } from '../examples.js'
import { agentIdFlag, listLimitFlag } from '../flags.js'
import { failedText } from '../format.js'
import type { FailedResult } from '../json-output.js'

/** `agent-comm failed`: lists dead-lettered deliveries. */
export default class Failed extends BaseCommand<typeof Failed> {
  protected override readonly readsOnly = true

  static override summary = 'List dead-lettered deliveries: messages that ran out of attempts.'
  static override description = 'Requeue one with `retry <message-id> [agent]` once the cause is fixed.'
  static override examples = examples('', '--agent builder --json')
  static override flags = {
    agent: agentIdFlag({ description: 'only deliveries to this agent' }),
    limit: listLimitFlag('at most this many'),
  }

  async run(): Promise<FailedResult> {
    const coordinator = await this.coordinator()
    const failed = await coordinator.listFailed({ agent: this.flags.agent, limit: this.flags.limit })
    this.log(failedText(failed))
    return { count: failed.length, failed }
  }
}
