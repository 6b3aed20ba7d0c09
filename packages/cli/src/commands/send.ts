import { PAYLOAD_TYPES, PRIORITY_INPUTS } from '@agent-comm/protocol/vocabulary'
import { Args, Flags } from '@oclif/core'
import { agentArg, BaseCommand } from '../base-command.js'
import { examples } from '../examples.js'
import {
  idempotencyKeyFlag,
  jsonFlag,
  MAX_DELAY_SECONDS,
  MAX_TTL_HOURS,
  positiveNumberFlag,
  secondsFlag,
} from '../flags.js'
import { MESSAGE_FIELD_FLAGS, type SendResult, sendMessage } from '../send-message.js'

export type { SendResult } from '../send-message.js'

/** `agent-comm send`: sends a message and prints its id (only the id when piped). */
export default class Send extends BaseCommand<typeof Send> {
  /** A relay is asked about the message of --reply-to as the sender, one of its recipients. */
  protected override readonly actingAgentArg = 'from'

  static override summary = 'Send a message and print its id.'
  static override description =
    `Prints the new message id. On a terminal it adds the recipient and conversation; when stdout is not a terminal (a pipe, $(…)) or with --quiet it prints only the id, so id=$(agent-comm send a b hi) works.

<to> is an agent id, * for every registered agent, or capability:<name> for every agent with that capability. The recipient must be registered unless --allow-unregistered is given. A * or capability:<name> that matches no agent (other than the sender) is refused, unless --queue keeps the message for agents that register later: with --queue the agents matching now get it at once, and each agent that registers matching it before the message expires (--ttl-hours) gets it once.

With --idempotency-key, sending again with the same key (same sender, within 24 hours) sends nothing and prints the first message's id: a script that retries after a timeout never sends twice.

With --reply-to the message joins the conversation of the message it answers (and its subject defaults to "Re: <subject>").`
  static override examples = examples`
    agent-a agent-b "Hello from A!" -s Greeting
    id=$(<%= config.bin %> <%= command.id %> architect builder "Implement JWT auth" -s "Task: Auth Module" --priority high)
    git diff | <%= config.bin %> <%= command.id %> builder reviewer - -s "Review this diff"
    builder reviewer --body-file report.md -s "Weekly report"
    builder architect "Done: PR #456" --reply-to msg_01M89DRRW2B6KBSY53CM0E5VMM
    architect capability:review "Please review PR #456" --payload-type task_assignment --payload '{"pr":456}'
    architect capability:security "Audit the auth module" --queue --ttl-hours 72
    architect builder "Deploy v2" --idempotency-key deploy-v2
  `
  static override args = {
    from: agentArg('sending agent id'),
    to: Args.string({ description: 'recipient: agent id, * or capability:<name>', required: true }),
    body: Args.string({ description: 'message body; - reads it from stdin (or give --body-file)' }),
  }
  protected static override fieldFlags = MESSAGE_FIELD_FLAGS
  static override flags = {
    'body-file': Flags.string({
      description: 'read the body from this file (- for stdin) instead of the <body> argument',
      helpValue: '<path>',
    }),
    subject: Flags.string({ char: 's', description: 'subject line' }),
    priority: Flags.string({
      char: 'p',
      description: 'urgency; claims hand out critical first (urgent is an alias of critical)',
      options: [...PRIORITY_INPUTS],
      default: 'normal',
    }),
    'payload-type': Flags.string({ description: 'kind of typed payload', options: [...PAYLOAD_TYPES] }),
    payload: jsonFlag({ description: 'payload data as JSON (needs --payload-type)' }),
    'reply-to': Flags.string({
      description: 'id of the message this answers: joins its conversation',
      helpValue: '<id>',
    }),
    conversation: Flags.string({
      description: 'conversation id to send in (default: a new conversation)',
      helpValue: '<id>',
      exclusive: ['reply-to'],
    }),
    'ttl-hours': positiveNumberFlag({
      description: `hours until the message expires, at most ${MAX_TTL_HOURS} (ten years; default: AGENT_COMM_TTL_HOURS or 24)`,
      helpValue: '<hours>',
      max: MAX_TTL_HOURS,
    }),
    delay: secondsFlag({
      description: `keep the message invisible for this many seconds, at most ${MAX_DELAY_SECONDS} (a year)`,
      max: MAX_DELAY_SECONDS,
    }),
    metadata: jsonFlag({
      description: 'free-form JSON object stored with the message',
      helpValue: '<json object>',
    }),
    'allow-unregistered': Flags.boolean({ description: 'send even if the recipient is not registered' }),
    queue: Flags.boolean({
      description:
        'for * or capability:<name>: also hold it for agents that register later, until it expires (each gets it once)',
    }),
    'idempotency-key': idempotencyKeyFlag(
      'at most one message per sender and key within 24 h: a retry with the same key prints the first message id and sends nothing',
    ),
    quiet: Flags.boolean({ char: 'q', description: 'print only the message id' }),
  }

  async run(): Promise<SendResult> {
    return sendMessage(this.args, this.flags, {
      runtime: () => this.runtime(),
      coordinator: () => this.coordinator(),
      log: (line) => this.log(line),
    })
  }
}
