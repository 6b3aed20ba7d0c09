import type { Coordinator, SendOptions, SendReport } from '@agent-comm/coordinator'
import type { MessageInput, MessageV2 } from '@agent-comm/protocol'
import type { PAYLOAD_TYPES } from '@agent-comm/protocol/vocabulary'
import type { Runtime } from './context.js'
import { ExitCode } from './errors.js'
import { idempotencyKeyFlagValue, METADATA_EXPECTED, parseFlagValue } from './flag-errors.js'
import { readStdin, readTextInput } from './input.js'
import { safeLine } from './terminal-text.js'

// What `agent-comm send` does once its flags are parsed, apart from oclif: the command class
// (commands/send.ts) runs it after oclif parsed the line, and the start-up fast path (send-fast-path.ts)
// after parsing a plain line itself. Nothing here may import @oclif/core at load time.

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

/** `send`'s arguments, as oclif parses them. */
export interface SendArgs {
  from: string
  to: string
  body?: string | undefined
}

/** `send`'s own flags, as oclif parses them (`priority` has its default). */
export interface SendFlags {
  'body-file'?: string | undefined
  subject?: string | undefined
  priority: string
  'payload-type'?: string | undefined
  payload?: unknown
  'reply-to'?: string | undefined
  conversation?: string | undefined
  'ttl-hours'?: number | undefined
  delay?: number | undefined
  metadata?: unknown
  'allow-unregistered'?: boolean | undefined
  queue?: boolean | undefined
  'idempotency-key'?: string | undefined
  quiet?: boolean | undefined
}

/** What sending needs from whoever runs it: the library, the coordinator, and a line printer. */
export interface SendEnvironment {
  runtime(): Promise<Runtime>
  coordinator(): Promise<Coordinator>
  /** Prints one line on stdout (nothing with --json: the result is printed instead). */
  log(line: string): void
}

/**
 * The flag that sets each field of a message `send`, `reply` and `request` build: a message refused for one
 * of them names the flag (`Invalid --metadata: trace.traceparent: …`).
 */
export const MESSAGE_FIELD_FLAGS: Readonly<Record<string, string>> = {
  subject: '--subject',
  priority: '--priority',
  metadata: '--metadata',
  'routing.conversationId': '--conversation',
  'routing.ttlHours': '--ttl-hours',
}

/** Sends the message `args` and `flags` describe and prints its id; returns the `--json` result. */
export async function sendMessage(
  args: SendArgs,
  flags: SendFlags,
  environment: SendEnvironment,
): Promise<SendResult> {
  const runtime = await environment.runtime()
  const { JsonObjectSchema, JsonValueSchema, replyThread, ValidationError } = runtime
  if (flags.payload !== undefined && flags['payload-type'] === undefined) {
    throw new ValidationError(
      'Invalid flags: --payload needs --payload-type (e.g. --payload-type task_assignment)',
    )
  }
  if ((args.body === undefined) === (flags['body-file'] === undefined)) {
    // A usage error (exit 2, with oclif's "See the usage" hint). A missing body is not read from stdin
    // unasked: only `-` or `--body-file -` read it, to its end (see input.ts).
    const { Errors } = await (await import('./oclif-bundle.js')).loadOclif()
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
      : parseFlagValue(runtime, JsonObjectSchema, flags.metadata, '--metadata', METADATA_EXPECTED)
  const payloadData =
    flags.payload === undefined
      ? null
      : parseFlagValue(runtime, JsonValueSchema, flags.payload, '--payload', 'JSON data')
  const fields = {
    body,
    priority: flags.priority as MessageInput['priority'],
    subject: flags.subject,
    payload:
      flags['payload-type'] === undefined
        ? undefined
        : { type: flags['payload-type'] as (typeof PAYLOAD_TYPES)[number], data: payloadData },
    metadata,
  }
  const options: SendOptions = {
    delaySeconds: flags.delay,
    ...(flags['allow-unregistered'] ? { allowUnregistered: true } : {}),
    ...(flags.queue ? { holdForFutureRecipients: true } : {}),
    idempotencyKey: idempotencyKeyFlagValue(runtime, flags['idempotency-key']),
  }
  const ttl = { ttlHours: flags['ttl-hours'] }
  const coordinator = await environment.coordinator()

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
          conversationId: flags.conversation,
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
              subject: fields.subject ?? replyThread(original).subject,
              fromAgent: args.from,
              toAgent: args.to,
              routing: { ...ttl, ...replyThread(original).routing },
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
    heldUntil: report.heldUntil,
    message: report.message,
  }
  if (flags.quiet || !process.stdout.isTTY) {
    environment.log(result.messageId)
  } else {
    const to = result.recipients.length === 1 ? result.recipients[0] : `${result.recipients.length} agents`
    const note =
      (report.duplicate ? ', already stored: nothing new queued' : '') +
      (report.heldUntil === undefined
        ? ''
        : `, held for agents that register later until ${report.heldUntil}`)
    environment.log(
      safeLine(
        `Message sent: ${result.messageId} (to ${to}, conversation ${result.conversationId}, ${result.deliveries} ${result.deliveries === 1 ? 'delivery' : 'deliveries'}${note})`,
      ),
    )
  }
  return result
}
