import type { AckResult } from '@agent-comm/protocol'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'

/** `agent-comm ack`: acknowledges a handled message. */
export default class Ack extends BaseCommand<typeof Ack> {
  static override summary = 'Acknowledge a message: the agent handled it, it will not be delivered again.'
  static override description =
    `Acking a message twice is harmless (reported as already acked). With --receipt (from poll's output) the ack is refused with exit code 4 if the lease was lost meanwhile, i.e. the message was delivered again to another consumer.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> msg_01M89DRRW2B6KBSY53CM0E5VMM agent-b',
    '<%= config.bin %> <%= command.id %> "$id" builder --receipt "$receipt" --json',
  ]
  static override args = {
    'message-id': Args.string({ description: 'id of the message', required: true }),
    agent: Args.string({ description: 'agent that received it', required: true }),
  }
  static override flags = {
    receipt: Flags.string({ description: 'receipt of the claim (poll prints it): detects a lost lease' }),
  }

  async run(): Promise<AckResult> {
    const coordinator = await this.coordinator()
    const { 'message-id': messageId, agent } = this.args
    const result = await coordinator.ack(messageId, agent, {
      ...(this.flags.receipt === undefined ? {} : { receipt: this.flags.receipt }),
    })
    this.log(
      result.alreadyAcked
        ? `Message ${messageId} was already acknowledged by ${agent}`
        : `Acknowledged ${messageId} for ${agent}`,
    )
    return result
  }
}
