import type { SendOptions, SendReport } from '@agent-comm/coordinator'
import {
  AgentIdSchema,
  DEFAULT_TTL_HOURS,
  DelaySecondsSchema,
  IdempotencyKeySchema,
  isAgentCommError,
  JsonObjectSchema,
  JsonValueSchema,
  Limits,
  MAX_TTL_HOURS,
  MessageIdSchema,
  type MessageInput,
  type MessageV2,
  type Payload,
  PayloadTypeSchema,
  PriorityInput,
  RecipientSchema,
  RequestTimeoutError,
  replyThread,
  TtlHoursSchema,
  ValidationError,
} from '@agent-comm/protocol'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { quotedBody } from '../format.js'
import { prose } from '../prose.js'
import { MessageOutputSchema, SendOutputShape } from '../schemas.js'
import { Behaviour, registerTool, type ToolContext } from '../tool-kit.js'
import type { ToolOutcome } from '../tool-result.js'

/** The fields of a message both comm_send and comm_reply take. */
const contentFields = {
  body: z.string().describe('the message text: the task, question, answer or result'),
  subject: z
    .string()
    .optional()
    .describe('a short subject line (a reply defaults to "Re: <original subject>")'),
  priority: PriorityInput.optional().describe(
    'critical, high, normal (default) or low; claims hand out critical first ("urgent" means critical)',
  ),
  payload_type: PayloadTypeSchema.optional().describe(
    'kind of structured payload, e.g. task_assignment or task_result (needed with payload_data)',
  ),
  payload_data: JsonValueSchema.optional().describe(
    'structured JSON data for the recipient (needs payload_type)',
  ),
  // The protocol's bound (positive, at most ten years), so the model sees it in tools/list before it calls.
  ttl_hours: TtlHoursSchema.optional().describe(
    `hours until the message expires (default ${DEFAULT_TTL_HOURS}, more than 0, at most ${MAX_TTL_HOURS})`,
  ),
  // The protocol's bound (at most a year), shown in tools/list as the tool's range.
  delay_seconds: DelaySecondsSchema.optional().describe(
    'keep the message invisible for this many seconds (at most a year)',
  ),
  metadata: JsonObjectSchema.optional().describe('free-form JSON object stored with the message'),
}

function payloadOf(args: { payload_type?: Payload['type']; payload_data?: unknown }): Payload | undefined {
  if (args.payload_type === undefined) {
    if (args.payload_data !== undefined) {
      throw new ValidationError('Invalid arguments: payload_data needs payload_type', [
        { path: 'payload_type', message: 'is required with payload_data (e.g. task_assignment)' },
      ])
    }
    return undefined
  }
  return { type: args.payload_type, data: (args.payload_data ?? null) as Payload['data'] }
}

/** The message fields of {@link contentFields} as the coordinator takes them. */
function contentOf(args: {
  body: string
  subject?: string | undefined
  priority?: MessageInput['priority']
  payload_type?: Payload['type']
  payload_data?: unknown
  metadata?: MessageInput['metadata']
}): Pick<MessageInput, 'body' | 'subject' | 'priority' | 'payload' | 'metadata'> {
  const payload = payloadOf(args)
  return {
    body: args.body,
    subject: args.subject,
    priority: args.priority,
    payload,
    metadata: args.metadata,
  }
}

function sendOptions(args: {
  delay_seconds?: number
  allow_unregistered?: boolean
  queue_for_future_recipients?: boolean
  idempotency_key?: string
}): SendOptions {
  return {
    idempotencyKey: args.idempotency_key,
    delaySeconds: args.delay_seconds,
    ...(args.allow_unregistered === true ? { allowUnregistered: true } : {}),
    ...(args.queue_for_future_recipients === true ? { holdForFutureRecipients: true } : {}),
  }
}

function sentOutcome(report: SendReport, verb: string): ToolOutcome<Record<string, unknown>> {
  const { message } = report
  const to =
    report.recipients.length === 1 && report.recipients[0] === message.toAgent
      ? `'${message.toAgent}'`
      : `${message.toAgent} (${report.recipients.length === 0 ? 'no recipients matched' : report.recipients.join(', ')})`
  const text = report.duplicate
    ? `Message ${message.id} was already sent (same id or idempotency key); nothing was sent again.`
    : [
        `${verb} ${message.id} to ${to} in conversation ${message.routing.conversationId}.`,
        ...(report.heldUntil === undefined
          ? []
          : [
              `It is held until ${report.heldUntil}: agents that register matching ${message.toAgent} before then get it too.`,
            ]),
        `Next: the recipient receives it with comm_poll. Follow its delivery with comm_message_status (message_id: '${message.id}'), and read answers with comm_get_conversation (conversation_id: '${message.routing.conversationId}') or by polling as '${message.fromAgent}'.`,
      ].join('\n')
  return {
    text,
    data: {
      messageId: message.id,
      conversationId: message.routing.conversationId,
      recipients: report.recipients,
      deliveries: report.deliveries,
      duplicate: report.duplicate,
      // Ids and status only: the model wrote the body, echoing it back costs its tokens again.
      heldUntil: report.heldUntil,
    },
  }
}

/** Longest a request tool waits (s): MCP clients commonly give up on a call after 60 s. */
const MAX_REQUEST_WAIT_SECONDS = 50

/** What comm_request and comm_await_reply report. */
const RequestOutputShape = {
  requestId: MessageIdSchema,
  replied: z.boolean().describe('false when no reply came within the wait: call comm_await_reply'),
  reply: MessageOutputSchema.optional(),
}

const waitSeconds = z
  .number()
  .min(0)
  .max(MAX_REQUEST_WAIT_SECONDS)
  .optional()
  .describe(`seconds to wait for the reply (default and at most ${MAX_REQUEST_WAIT_SECONDS})`)

/** The outcome of a wait for a reply: the reply, or the request id and what to call next. */
async function replyOutcome(
  requestId: string,
  wait: () => Promise<MessageV2>,
): Promise<ToolOutcome<Record<string, unknown>>> {
  try {
    const reply = await wait()
    return {
      text: `Reply to ${requestId} from '${reply.fromAgent}' (message ${reply.id}, already acked):\n${quotedBody(reply.body)}`,
      data: { requestId, replied: true, reply },
    }
  } catch (error) {
    if (!(error instanceof RequestTimeoutError) && !isAgentCommError(error, 'TIMEOUT')) throw error
    return {
      text: `No reply to ${requestId} yet; the request stays delivered. Call comm_await_reply with request_id '${requestId}' to wait again.`,
      data: { requestId, replied: false },
    }
  }
}

/** comm_send and comm_reply. */
export function registerMessagingTools(server: McpServer, context: ToolContext): void {
  const { coordinator } = context

  registerTool(
    server,
    context,
    'comm_send',
    {
      title: 'Send a message',
      description: prose`
        Send a message to another agent: a task, a question, a result. to_agent is an agent id, "*" for every
        registered agent, or "capability:<name>" for every agent with that capability (find them with
        comm_discover_agents). The message waits durably until the recipient polls for it. To answer a message
        you received, prefer comm_reply, which keeps the conversation. Next: follow it with
        comm_message_status, and collect answers by polling as from_agent with comm_poll.
      `,
      inputSchema: {
        from_agent: AgentIdSchema.describe('your agent id (the sender; register it first)'),
        to_agent: RecipientSchema.describe('recipient: an agent id, "*" or "capability:<name>"'),
        ...contentFields,
        reply_to: MessageIdSchema.optional().describe(
          'id of a message this answers: the new message joins its conversation',
        ),
        conversation_id: z
          .string()
          .min(1)
          .max(Limits.idMaxLength)
          .optional()
          .describe('conversation to send in (default: a new conversation, or that of reply_to)'),
        allow_unregistered: z
          .boolean()
          .optional()
          .describe('send even if to_agent is not registered (it can register later and poll)'),
        queue_for_future_recipients: z
          .boolean()
          .optional()
          .describe(
            'for "*" or "capability:<name>": also keep the message, until it expires, for agents that register later with a match (each gets it once); without it, a target nobody matches is refused',
          ),
        idempotency_key: IdempotencyKeySchema.optional().describe(
          'make a retry safe: a second comm_send by the same sender with the same key within 24 h sends nothing and returns the first message id',
        ),
      },
      outputSchema: SendOutputShape,
      behaviour: Behaviour.adds,
      actsAs: { parameter: 'from_agent', registered: true },
    },
    async (args) => {
      const content = contentOf(args)
      let subject = args.subject
      let conversationId = args.conversation_id
      if (args.reply_to !== undefined) {
        // A bound session threads only into a message its agent sent or received: another's is "not found"
        // (its conversation id is not revealed), as comm_reply and comm_message_status answer.
        const original = await coordinator.status(args.reply_to, { as: args.from_agent })
        context.identity.assertMayRead(original)
        const thread = replyThread(original.message)
        conversationId ??= thread.routing.conversationId
        subject ??= thread.subject
      }
      const input: MessageInput = {
        fromAgent: args.from_agent,
        toAgent: args.to_agent,
        ...content,
        subject,
        routing: { replyTo: args.reply_to, conversationId, ttlHours: args.ttl_hours },
      }
      const report = await coordinator.send(input, sendOptions(args))
      context.inboxes.poke()
      return sentOutcome(report, 'Sent')
    },
  )

  registerTool(
    server,
    context,
    'comm_reply',
    {
      title: 'Reply to a message',
      description: prose`
        Answer a message you received: the reply goes to its sender, in the same conversation, marked as a
        reply to it, with the subject "Re: …". Use it after handling a message from comm_poll; then ack the
        original with comm_ack. from_agent defaults to the agent the original was sent to (give it when the
        original went to "*" or a capability).
      `,
      inputSchema: {
        message_id: MessageIdSchema.describe('id of the message you are answering'),
        from_agent: AgentIdSchema.optional().describe('who replies (default: the original recipient)'),
        ...contentFields,
      },
      outputSchema: SendOutputShape,
      behaviour: Behaviour.adds,
      actsAs: { parameter: 'from_agent', registered: true, derived: true },
    },
    async (args) => {
      const report = await coordinator.reply(
        args.message_id,
        {
          ...contentOf(args),
          fromAgent: args.from_agent,
          routing: { ttlHours: args.ttl_hours },
        },
        sendOptions(args),
      )
      context.inboxes.poke()
      return sentOutcome(report, `Replied to ${args.message_id} with`)
    },
  )

  registerTool(
    server,
    context,
    'comm_request',
    {
      title: 'Ask and wait for the answer',
      description: prose`
        Send a request to another agent and wait for its reply (at most wait_seconds, 50 by default): the
        first message to from_agent answering it. The reply is taken from your inbox and acked for you; your
        other messages stay. If the answer takes longer, you get the request id back: call comm_await_reply
        with it to wait again (the request stays delivered, and a late reply waits in your inbox).
      `,
      inputSchema: {
        from_agent: AgentIdSchema.describe('your agent id (the reply comes to you)'),
        to_agent: AgentIdSchema.describe('the agent that answers'),
        ...contentFields,
        idempotency_key: IdempotencyKeySchema.optional().describe(
          'make a retry safe: the same key again within 24 h sends nothing new and waits for the first request’s reply',
        ),
        wait_seconds: waitSeconds,
      },
      outputSchema: RequestOutputShape,
      behaviour: Behaviour.adds,
      actsAs: { parameter: 'from_agent', registered: true },
    },
    async (args) => {
      const sent = await coordinator.send(
        {
          fromAgent: args.from_agent,
          toAgent: args.to_agent,
          ...contentOf(args),
          routing: { ttlHours: args.ttl_hours },
        },
        sendOptions(args),
      )
      context.inboxes.poke()
      return replyOutcome(sent.messageId, () =>
        coordinator.awaitReply(sent.messageId, {
          requester: args.from_agent,
          timeoutMs: Math.round((args.wait_seconds ?? MAX_REQUEST_WAIT_SECONDS) * 1000),
        }),
      )
    },
  )

  registerTool(
    server,
    context,
    'comm_await_reply',
    {
      title: 'Wait for the reply to a request',
      description: prose`
        Wait again (at most wait_seconds, 50 by default) for the reply to a request sent with comm_request (or
        comm_send). Returns the reply, taken from your inbox and acked, or the request id again if it has not
        come yet. Only for requests you sent (a session bound with --agent refuses others).
      `,
      inputSchema: {
        request_id: MessageIdSchema.describe('the id comm_request returned'),
        wait_seconds: waitSeconds,
      },
      outputSchema: RequestOutputShape,
      behaviour: Behaviour.adds,
      actsAs: null,
    },
    async (args) => {
      // A bound session takes only replies to its own requests: the reply is acked from the requester's inbox.
      // The request is looked up as the session's agent (a relay holding it answers its sender).
      const bound = context.identity.agent
      let requester: string | undefined
      if (bound !== undefined) {
        requester = (await coordinator.status(args.request_id, { as: bound })).message.fromAgent
        await context.identity.assertOwnRequest(args.request_id, requester)
      }
      return replyOutcome(args.request_id, () =>
        coordinator.awaitReply(args.request_id, {
          requester,
          timeoutMs: Math.round((args.wait_seconds ?? MAX_REQUEST_WAIT_SECONDS) * 1000),
        }),
      )
    },
  )
}
