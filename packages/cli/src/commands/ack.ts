import type { AckResult, ClaimedMessage } from '@agent-comm/protocol'
import { Args, Errors, Flags } from '@oclif/core'
import { BaseCommand, deliveryArgs } from '../base-command.js'
import { describeError, ExitCode, errorJson, formatErrorText } from '../errors.js'
import { examples } from '../examples.js'
import { receiptFlag } from '../flags.js'
import { readStdin } from '../input.js'
import type { AckFailure, AckManyResult } from '../json-output.js'

/** One acknowledgement to try: the message, its recipient, and the call that acks it. */
interface PendingAck {
  messageId: string
  agent: string
  ack: () => Promise<AckResult>
}

/** `agent-comm ack`: acknowledges a handled message, several of one agent, or every message a poll printed. */
export default class Ack extends BaseCommand<typeof Ack> {
  static override summary = 'Acknowledge a message: the agent handled it, it will not be delivered again.'
  static override description =
    `Acking a message twice is harmless (reported as already acked). With --receipt (from poll's output) the ack is refused with exit code 4 if the lease was lost meanwhile, i.e. the message was delivered again to another consumer.

With --stdin it acknowledges every message of poll --json output read from stdin (the document, or the lines of poll --follow --json), each as its recipient and with its receipt, so a message whose lease was lost is not acked. All are tried; the exit code is that of the first failure (4 for a lost lease), and --json reports {count, acked, failed}.

More message ids after the agent are acked too, all for that agent (without --receipt), the same way: all are tried, the exit code is that of the first failure, and --json reports {count, acked, failed}.`
  static override examples = examples`
    msg_01M89DRRW2B6KBSY53CM0E5VMM agent-b
    "$id" builder --receipt "$receipt" --json
    "$first" builder "$second" "$third" --json
    <%= config.bin %> poll builder --json > batch.json && ./handle batch.json && <%= config.bin %> <%= command.id %> --stdin < batch.json
  `
  static override args = {
    // Required, as the help shows them, unless --stdin gives the messages (run() checks them).
    ...deliveryArgs('id of the message (not with --stdin)', 'agent that received it (not with --stdin)'),
    'more-ids': Args.string({
      description: 'more ids of messages the agent received, acked the same way',
      multiple: true,
    }),
  }
  protected static override argsReplacedByStdin = true
  static override usage = [
    '<%= command.id %> MESSAGE-ID AGENT [MORE-IDS...] [--json] [--receipt <value>]',
    '<%= command.id %> --stdin [--json]',
  ]
  static override flags = {
    receipt: receiptFlag,
    stdin: Flags.boolean({
      description: 'ack every message of poll --json output read from stdin, with its receipt',
      exclusive: ['receipt'],
    }),
  }

  async run(): Promise<AckResult | AckManyResult> {
    const { 'message-id': messageId, agent } = this.args
    if (this.flags.stdin) {
      if (messageId !== undefined) {
        throw new Errors.CLIError('--stdin takes the messages from stdin: give no message id or agent', {
          exit: ExitCode.USAGE,
        })
      }
      const claimed = await this.#claimedFromStdin()
      if (claimed.length === 0) {
        // Nothing to acknowledge needs no database: an empty poll piped in is fine anywhere.
        if (!this.jsonEnabled()) this.log('No messages on stdin: nothing to acknowledge')
        return { count: 0, acked: [], failed: [] }
      }
      const coordinator = await this.coordinator()
      return this.#ackAll(
        claimed.map((message) => ({
          messageId: message.message.id,
          agent: message.lease.recipient,
          ack: () => coordinator.ack(message),
        })),
      )
    }
    if (messageId === undefined || agent === undefined) {
      // Both are required without --stdin; said as oclif says it for a required argument.
      const missing = [
        ...(messageId === undefined ? ['message-id  id of the message'] : []),
        'agent  agent that received it',
      ]
      throw new Errors.CLIError(
        `Missing ${missing.length} required arg${missing.length === 1 ? '' : 's'}:\n${missing.join('\n')}\n(or read the messages of poll --json from stdin: ack --stdin)`,
        { exit: ExitCode.USAGE },
      )
    }
    const moreIds = this.positionals.slice(2)
    if (moreIds.length > 0) {
      if (this.flags.receipt !== undefined) {
        throw new Errors.CLIError(
          '--receipt belongs to one claim: give one message id with it, or ack several ids without --receipt',
          { exit: ExitCode.USAGE },
        )
      }
      const coordinator = await this.coordinator()
      return this.#ackAll(
        [messageId, ...moreIds].map((id) => ({
          messageId: id,
          agent,
          ack: () => coordinator.ack(id, agent),
        })),
      )
    }
    const coordinator = await this.coordinator()
    const result = await coordinator.ack(messageId, agent, { receipt: this.flags.receipt })
    this.log(ackLine(result))
    return result
  }

  /** The claimed messages of a `poll --json` document or of `poll --follow --json` lines. */
  async #claimedFromStdin(): Promise<ClaimedMessage[]> {
    const text = (await readStdin()).trim()
    const { ClaimedMessageSchema, parseOrThrow } = await this.runtime()
    let documents: unknown[]
    try {
      documents = text === '' ? [] : [JSON.parse(text)]
    } catch {
      try {
        documents = text.split('\n').flatMap((line) => (line.trim() === '' ? [] : [JSON.parse(line)]))
      } catch (error) {
        throw new Errors.CLIError(
          `stdin is not poll --json output (${(error as Error).message}). Pipe it: agent-comm poll <agent> --json | agent-comm ack --stdin`,
          { exit: ExitCode.USAGE },
        )
      }
    }
    return documents.flatMap((doc) => {
      const items =
        typeof doc === 'object' && doc !== null && Array.isArray((doc as { messages?: unknown }).messages)
          ? (doc as { messages: unknown[] }).messages
          : [doc]
      return items.map((item) => parseOrThrow(ClaimedMessageSchema, item, 'claimed message on stdin'))
    })
  }

  /** Tries every ack; the exit code is that of the first failure. */
  async #ackAll(pending: PendingAck[]): Promise<AckManyResult> {
    const { isAgentCommError } = await this.runtime()
    const acked: AckResult[] = []
    const failed: AckFailure[] = []
    let exitCode: number = ExitCode.OK
    for (const { messageId, agent, ack } of pending) {
      try {
        const result = await ack()
        acked.push(result)
        if (!this.jsonEnabled()) this.log(ackLine(result))
      } catch (error) {
        const report = describeError(error, isAgentCommError, this.id)
        if (exitCode === ExitCode.OK) exitCode = report.exitCode
        failed.push({ messageId, agent, ...errorJson(report) })
        if (!this.jsonEnabled()) process.stderr.write(`${messageId}: ${formatErrorText(report)}`)
      }
    }
    const result = { count: acked.length, acked, failed }
    if (exitCode !== ExitCode.OK) {
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(exitCode)
    }
    return result
  }
}

function ackLine(result: AckResult): string {
  return result.alreadyAcked
    ? `Message ${result.messageId} was already acknowledged by ${result.recipient}`
    : `Acknowledged ${result.messageId} for ${result.recipient}`
}
