import type { SendOptions, SendReport } from '@agent-comm/coordinator'
import type { MessageInput, MessageV2 } from '@agent-comm/protocol'
import { PAYLOAD_TYPES, PRIORITY_INPUTS } from '@agent-comm/protocol/vocabulary'
import { Args, Errors, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import type { ContextOptions } from '../context.js'
import { ExitCode } from '../errors.js'
import { jsonFlag, positiveNumberFlag, secondsFlag } from '../flags.js'
import { readStdin, readTextInput } from '../input.js'
import { safeLine } from '../terminal-text.js'

/** `--json` output of `send`. */
export interface SendResult {
  messageId: string
  conversationId: string
  /** The agents it was delivered to (several for `*` and `capability:<name>`). */
  recipients: string[]
  /** Deliveries created: 0 when a message with this id was already stored. */
  deliveries: number
  duplicate: boolean
  /** Which transport carried which recipients. */
  routes: SendReport['routes']
  /** With --queue: until when agents that register later matching <to> get it too (ISO 8601). */
  heldUntil?: string
  message: MessageV2
}

/** `agent-comm send`: sends a message and prints its id (only the id when piped). */
export default class Send extends BaseCommand<typeof Send> {
  static override summary = 'Send a message and print its id.'
  static override description =
    `Prints the new message id. On a terminal it adds the recipient and conversation; when stdout is not a terminal (a pipe, $(…)) or with --quiet it prints only the id, so id=$(agent-comm send a b hi) works.

<to> is an agent id, * for every registered agent, or capability:<name> for every agent with that capability. The recipient must be registered unless --allow-unregistered is given. A * or capability:<name> that matches no agent (other than the sender) is refused, unless --queue keeps the message for agents that register later: with --queue the agents matching now get it at once, and each agent that registers matching it before the message expires (--ttl-hours) gets it once.

With --idempotency-key, sending again with the same key (same sender, within 24 hours) sends nothing and prints the first message's id: a script that retries after a timeout never sends twice.

With --reply-to the message joins the conversation of the message it answers (and its subject defaults to "Re: <subject>").`
  static override examples = [
    '<%= config.bin %> <%= command.id %> agent-a agent-b "Hello from A!" -s Greeting',
    'id=$(<%= config.bin %> <%= command.id %> architect builder "Implement JWT auth" -s "Task: Auth Module" --priority high)',
    'git diff | <%= config.bin %> <%= command.id %> builder reviewer - -s "Review this diff"',
    '<%= config.bin %> <%= command.id %> builder reviewer --body-file report.md -s "Weekly report"',
    '<%= config.bin %> <%= command.id %> builder architect "Done: PR #456" --reply-to msg_01M89DRRW2B6KBSY53CM0E5VMM',
    '<%= config.bin %> <%= command.id %> architect capability:review "Please review PR #456" --payload-type task_assignment --payload \'{"pr":456}\'',
    '<%= config.bin %> <%= command.id %> architect capability:security "Audit the auth module" --queue --ttl-hours 72',
    '<%= config.bin %> <%= command.id %> architect builder "Deploy v2" --idempotency-key deploy-v2',
  ]
  static override args = {
    from: Args.string({ description: 'sending agent id', required: true }),
    to: Args.string({ description: 'recipient: agent id, * or capability:<name>', required: true }),
    body: Args.string({ description: 'message body; - reads it from stdin (or give --body-file)' }),
  }
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
      description: 'hours until the message expires (default: AGENT_COMM_TTL_HOURS or 24)',
      helpValue: '<hours>',
    }),
    delay: secondsFlag({ description: 'keep the message invisible for this many seconds' }),
    metadata: jsonFlag({
      description: 'free-form JSON object stored with the message',
      helpValue: '<json object>',
    }),
    'allow-unregistered': Flags.boolean({ description: 'send even if the recipient is not registered' }),
    queue: Flags.boolean({
      description:
        'for * or capability:<name>: also hold it for agents that register later, until it expires (each gets it once)',
    }),
    'idempotency-key': Flags.string({
      description:
        'at most one message per sender and key within 24 h: a retry with the same key prints the first message id and sends nothing',
      helpValue: '<key>',
    }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the message id' }),
  }

  /** A relay is asked about the message of --reply-to as the sender, one of its recipients. */
  protected override contextOptions(): ContextOptions {
    return { ...super.contextOptions(), actingAgent: this.args.from }
  }

  async run(): Promise<SendResult> {
    const { args, flags } = this
    const { JsonObjectSchema, JsonValueSchema, parseOrThrow, ValidationError } = await this.runtime()
    if (flags.payload !== undefined && flags['payload-type'] === undefined) {
      throw new ValidationError(
        'Invalid flags: --payload needs --payload-type (e.g. --payload-type task_assignment)',
      )
    }
    if ((args.body === undefined) === (flags['body-file'] === undefined)) {
      // A usage error (exit 2, with oclif's "See the usage" hint). A missing body is not read from stdin
      // unasked: only `-` or `--body-file -` read it, to its end (see input.ts).
      throw new Errors.CLIError(
        `Give the body as the <body> argument (- reads stdin) or with --body-file, exactly one of them${args.body === undefined ? ': it is missing' : ''}`,
        { exit: ExitCode.USAGE },
      )
    }
    const body =
      flags['body-file'] !== undefined
        ? await readTextInput(flags['body-file'], '--body-file')
        : args.body === '-'
          ? await readStdin()
          : args.body!
    const metadata =
      flags.metadata === undefined
        ? undefined
        : parseOrThrow(JsonObjectSchema, flags.metadata, '--metadata (a JSON object)')
    const payloadData =
      flags.payload === undefined ? null : parseOrThrow(JsonValueSchema, flags.payload, '--payload')
    const fields = {
      body,
      priority: flags.priority as MessageInput['priority'],
      ...(flags.subject === undefined ? {} : { subject: flags.subject }),
      ...(flags['payload-type'] === undefined
        ? {}
        : { payload: { type: flags['payload-type'] as (typeof PAYLOAD_TYPES)[number], data: payloadData } }),
      ...(metadata === undefined ? {} : { metadata }),
    }
    const options: SendOptions = {
      ...(flags.delay === undefined ? {} : { delaySeconds: flags.delay }),
      ...(flags['allow-unregistered'] ? { allowUnregistered: true } : {}),
      ...(flags.queue ? { holdForFutureRecipients: true } : {}),
      ...(flags['idempotency-key'] === undefined ? {} : { idempotencyKey: flags['idempotency-key'] }),
    }
    const ttl = flags['ttl-hours'] === undefined ? {} : { ttlHours: flags['ttl-hours'] }
    const coordinator = await this.coordinator()

    let report: SendReport
    const replyTo = flags['reply-to']
    if (replyTo === undefined) {
      report = await coordinator.send(
        {
          ...fields,
          fromAgent: args.from,
          toAgent: args.to,
          routing: {
            ...ttl,
            ...(flags.conversation === undefined ? {} : { conversationId: flags.conversation }),
          },
        },
        options,
      )
    } else {
      const original = (await coordinator.status(replyTo)).message
      report =
        original.fromAgent === args.to
          ? await coordinator.reply(original, { ...fields, fromAgent: args.from, routing: ttl }, options)
          : // Answering to someone other than the original sender: still thread it into that conversation.
            await coordinator.send(
              {
                ...fields,
                subject:
                  fields.subject ??
                  (/^re:/i.test(original.subject) ? original.subject : `Re: ${original.subject}`),
                fromAgent: args.from,
                toAgent: args.to,
                routing: { ...ttl, replyTo: original.id, conversationId: original.routing.conversationId },
              },
              options,
            )
    }

    const result: SendResult = {
      messageId: report.messageId,
      conversationId: report.message.routing.conversationId,
      recipients: report.recipients,
      deliveries: report.deliveries,
      duplicate: report.duplicate,
      routes: report.routes,
      ...(report.heldUntil === undefined ? {} : { heldUntil: report.heldUntil }),
      message: report.message,
    }
    if (flags.quiet || !process.stdout.isTTY) {
      this.log(result.messageId)
    } else {
      const to = result.recipients.length === 1 ? result.recipients[0] : `${result.recipients.length} agents`
      const note =
        (report.duplicate ? ', already stored: nothing new queued' : '') +
        (report.heldUntil === undefined
          ? ''
          : `, held for agents that register later until ${report.heldUntil}`)
      this.log(
        safeLine(
          `Message sent: ${result.messageId} (to ${to}, conversation ${result.conversationId}, ${result.deliveries} ${result.deliveries === 1 ? 'delivery' : 'deliveries'}${note})`,
        ),
      )
    }
    return result
  }
}
