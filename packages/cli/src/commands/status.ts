import type { MessageStatus } from '@agent-comm/protocol'
import { BaseCommand, messageIdArg } from '../base-command.js'
import { examples } from '../examples.js'
import { statusText } from '../format.js'

/** `agent-comm status`: a message and the state of each of its deliveries. */
export default class Status extends BaseCommand<typeof Status> {
  protected override readonly readsOnly = true

  static override summary = 'Show a message and where each of its deliveries stands.'
  static override description =
    'Every delivery (one per recipient) with its status (queued, leased, acked, failed, expired), attempt, lease and last error.'
  static override examples = examples`
    msg_01M89DRRW2B6KBSY53CM0E5VMM
    "$id" --json | jq -r '.deliveries[].status'
  `
  static override args = { 'message-id': messageIdArg('id of the message') }

  async run(): Promise<MessageStatus> {
    const coordinator = await this.coordinator()
    const status = await coordinator.status(this.args['message-id'])
    this.log(statusText(status))
    return status
  }
}
