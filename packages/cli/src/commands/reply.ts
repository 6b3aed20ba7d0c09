import { Args, Flags } from '@oclif/core'
import { BaseCommand, deliveryArgs } from '../base-command.js'
import { examples } from '../examples.js'
import { idempotencyKeyFlagValue } from '../flag-errors.js'
import { idempotencyKeyFlag } from '../flags.js'
import type { ReplyResult } from '../json-output.js'
import { safeLine } from '../terminal-text.js'

/** `agent-comm reply`: answers a message, from a terminal. */
export default class Reply extends BaseCommand<typeof Reply> {
  /** A relay is asked about the message as the replying agent, one of its recipients. */
  protected override readonly actingAgentArg = 'agent'

  static override summary = 'Answer a message: the reply goes to its sender, in its conversation.'
  static override description =
    'Sends <body> from <agent> to the sender of <message-id>, with replyTo set, in the same conversation and with the subject "Re: …": what a waiting agent-comm request (or coordinator.request) resolves with. Use it to answer a request, or an approval request, by hand. Only a recipient of the message may reply to it: another agent is refused (FORBIDDEN, exit code 1). Prints the reply id (--json: the details).'
  static override examples = examples`
    msg_01M89DRRW2B6KBSY53CM0E5VMM builder "Done: PR #456"
    "$id" human "approved" --json
  `
  static override args = {
    ...deliveryArgs('id of the message answered', 'agent that replies (a recipient of the message)'),
    body: Args.string({ description: 'the answer', required: true }),
  }
  protected static override fieldFlags = { subject: '--subject' }
  static override flags = {
    subject: Flags.string({ char: 's', description: 'subject line (default "Re: <subject>")' }),
    'idempotency-key': idempotencyKeyFlag(
      'reply at most once per key (24 h): a retry prints the first reply id',
    ),
  }

  async run(): Promise<ReplyResult> {
    const { args, flags } = this
    const idempotencyKey = idempotencyKeyFlagValue(await this.runtime(), flags['idempotency-key'])
    const coordinator = await this.coordinator()
    const report = await coordinator.reply(
      args['message-id'],
      {
        body: args.body,
        fromAgent: args.agent,
        subject: flags.subject,
      },
      { idempotencyKey },
    )
    const result: ReplyResult = {
      messageId: report.messageId,
      replyTo: args['message-id'],
      conversationId: report.message.routing.conversationId,
      duplicate: report.duplicate,
      routes: report.routes,
    }
    if (!this.jsonEnabled()) this.log(safeLine(result.messageId))
    return result
  }
}
