import type { ExtendLeaseResult } from '@agent-comm/protocol'
import { BaseCommand, deliveryArgs } from '../base-command.js'
import { examples } from '../examples.js'
import { DEFAULT_LEASE_SECONDS, leaseSecondsFlag, receiptFlag } from '../flags.js'

/** `agent-comm extend`: extends the lease of a message still being worked on. */
export default class Extend extends BaseCommand<typeof Extend> {
  static override summary = 'Extend the lease of a claimed message: more time before it is delivered again.'
  static override description =
    `For work that takes longer than the lease poll gave: the lease is renewed to --lease-seconds from now (default: AGENT_COMM_LEASE_SECONDS or ${DEFAULT_LEASE_SECONDS}), so the message is not delivered to anyone else meanwhile. With --receipt (from poll's output) it is refused with exit code 4 if the lease was already lost; a message that is not leased to the agent (queued, acked) also exits 4.`
  static override examples = examples`
    msg_01M89DRRW2B6KBSY53CM0E5VMM builder --lease-seconds 600
    "$id" builder --receipt "$receipt" --json
  `
  static override args = deliveryArgs('id of the claimed message', 'agent holding its lease')
  static override flags = {
    'lease-seconds': leaseSecondsFlag('new lease length from now'),
    receipt: receiptFlag,
  }

  async run(): Promise<ExtendLeaseResult> {
    const coordinator = await this.coordinator()
    const { 'message-id': messageId, agent } = this.args
    const { flags } = this
    const result = await coordinator.extendLease(messageId, agent, {
      leaseSeconds: flags['lease-seconds'],
      receipt: flags.receipt,
    })
    this.log(`Lease of ${messageId} for ${agent} extended until ${result.leaseUntil}`)
    return result
  }
}
