import type { NackResult } from '@agent-comm/protocol'
import { MAX_NACK_REASON_LENGTH } from '@agent-comm/protocol/bounds'
import { Flags } from '@oclif/core'
import { BaseCommand, deliveryArgs } from '../base-command.js'
import { examples } from '../examples.js'
import { MAX_DELAY_SECONDS, receiptFlag, secondsFlag } from '../flags.js'

/** `agent-comm nack`: hands a message back for a retry, or dead-letters it. */
export default class Nack extends BaseCommand<typeof Nack> {
  static override summary = 'Hand a message back for a retry, with the reason it failed.'
  static override description =
    `The message is queued again (after --delay seconds, or the default backoff) with its attempt count kept; once out of attempts it is dead-lettered as failed (see \`failed\` and \`retry\`). --dead-letter fails it at once, for errors a retry cannot fix. An acked message cannot be nacked (exit code 4).`
  static override examples = examples`
    msg_01M89DRRW2B6KBSY53CM0E5VMM builder --reason "Build server unreachable"
    "$id" builder --reason "Rate limited" --delay 120
    "$id" builder --reason "Not a task I can do" --dead-letter
  `
  static override args = deliveryArgs('id of the message', 'agent that received it')
  static override flags = {
    reason: Flags.string({
      description: `why it failed, at most ${MAX_NACK_REASON_LENGTH / 1024} KiB (kept as the delivery's last error)`,
      required: true,
    }),
    delay: secondsFlag({
      description: `seconds before it is delivered again, at most ${MAX_DELAY_SECONDS} (a year; default: backoff by attempt)`,
      max: MAX_DELAY_SECONDS,
    }),
    receipt: receiptFlag,
    'dead-letter': Flags.boolean({ description: 'fail it now instead of retrying' }),
  }

  protected static override fieldFlags = { reason: '--reason' }

  async run(): Promise<NackResult> {
    const coordinator = await this.coordinator()
    const { 'message-id': messageId, agent } = this.args
    const { flags } = this
    const result = await coordinator.nack(messageId, agent, {
      reason: flags.reason,
      delaySeconds: flags.delay,
      receipt: flags.receipt,
      ...(flags['dead-letter'] ? { deadLetter: true } : {}),
    })
    this.log(
      result.status === 'queued'
        ? `Requeued ${messageId} for ${agent} (attempt ${result.attempt}/${result.maxAttempts}, available at ${result.availableAt})`
        : `Dead-lettered ${messageId} for ${agent} after attempt ${result.attempt}/${result.maxAttempts} (see: agent-comm failed)`,
    )
    return result
  }
}
