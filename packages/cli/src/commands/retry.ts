import { Args } from '@oclif/core'
import { BaseCommand, messageIdArg } from '../base-command.js'
import { examples } from '../examples.js'
import type { RetryResult } from '../json-output.js'

/** `agent-comm retry`: requeues dead-lettered deliveries. */
export default class Retry extends BaseCommand<typeof Retry> {
  static override summary = 'Requeue dead-lettered deliveries of a message with fresh attempts.'
  static override description =
    'Without an agent, every failed delivery of the message is requeued. Exit code 3 if the message does not exist, 4 if it has no failed delivery.'
  static override examples = examples`
    msg_01M89DRRW2B6KBSY53CM0E5VMM
    msg_01M89DRRW2B6KBSY53CM0E5VMM builder
  `
  static override args = {
    'message-id': messageIdArg('id of the message'),
    agent: Args.string({ description: 'only the delivery to this agent' }),
  }

  async run(): Promise<RetryResult> {
    const coordinator = await this.coordinator()
    const { 'message-id': messageId, agent } = this.args
    const { requeued } = await coordinator.retryFailed(messageId, agent)
    this.log(
      `Requeued ${requeued} failed deliver${requeued === 1 ? 'y' : 'ies'} of ${messageId}${agent === undefined ? '' : ` for ${agent}`}`,
    )
    return { messageId, agent: agent ?? null, requeued }
  }
}
