import { z } from 'zod'
import { DEFAULT_TTL_HOURS } from './bounds.js'
import type { Clock } from './clock.js'
import { systemClock } from './clock.js'
import { DeliveryInfoSchema, LeaseSchema } from './delivery.js'
import { parseOrThrow } from './errors.js'
import { AgentIdSchema, ConversationIdSchema, MessageIdSchema, RecipientSchema } from './identifiers.js'
import type { IdGenerator } from './ids.js'
import { newConversationId, newMessageId } from './ids.js'
import { lazySchema } from './lazy-schema.js'
import { Limits, utf8Length } from './limits.js'
import { JsonObjectSchema, PayloadSchema } from './payload.js'
import { PriorityInput } from './priority.js'
import { RoutingInfoSchema } from './routing.js'
import { freeText } from './text.js'

/** The protocol version this package speaks. */
export const PROTOCOL_VERSION = '2.0'

// Characters never outnumber UTF-8 bytes, so each `.max` below is implied by the byte check after it; it
// documents the limit in JSON Schema, and aborts the parse when it fails, so one oversized field is one
// issue, not the same one twice.
const SubjectSchema = lazySchema(() =>
  freeText().check(
    z.maxLength(Limits.subjectMaxBytes, {
      message: `must be at most ${Limits.subjectMaxBytes} bytes`,
      abort: true,
    }),
    z.refine(
      (s) => utf8Length(s) <= Limits.subjectMaxBytes,
      `must be at most ${Limits.subjectMaxBytes} bytes`,
    ),
  ),
)

/** Message body; the protocol limit is 1 MiB, a spool may be configured with another. */
const BodySchema = lazySchema(() =>
  freeText({ error: 'must be a string' }).check(
    z.maxLength(Limits.bodyMaxBytes, {
      message: `must be at most ${Limits.bodyMaxBytes} bytes (1 MiB)`,
      abort: true,
    }),
    z.refine(
      (s) => utf8Length(s) <= Limits.bodyMaxBytes,
      `must be at most ${Limits.bodyMaxBytes} bytes (1 MiB)`,
    ),
  ),
)

/** A message on the wire and in storage (protocol version 2.0). */
export const MessageV2Schema = lazySchema(() =>
  z.object({
    id: MessageIdSchema,
    version: z.literal(PROTOCOL_VERSION, { error: `must be '${PROTOCOL_VERSION}'` }),
    fromAgent: AgentIdSchema,
    toAgent: RecipientSchema,
    subject: SubjectSchema,
    body: BodySchema,
    /** ISO-8601 time the message was created. */
    timestamp: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' }),
    priority: PriorityInput,
    routing: RoutingInfoSchema,
    payload: PayloadSchema.optional(),
    metadata: JsonObjectSchema.optional(),
  }),
)

/** A message (protocol version 2.0). */
export type MessageV2 = z.output<typeof MessageV2Schema>

/** What a sender supplies; {@link createMessage} fills in the rest. */
export const MessageInputSchema = lazySchema(() =>
  z.object({
    id: MessageIdSchema.optional(),
    fromAgent: AgentIdSchema,
    toAgent: RecipientSchema,
    subject: SubjectSchema.default(''),
    body: BodySchema,
    timestamp: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' }).optional(),
    priority: PriorityInput.default('normal'),
    routing: z
      .object({
        replyTo: MessageIdSchema.optional(),
        conversationId: ConversationIdSchema.optional(),
        ttlHours: RoutingInfoSchema.shape.ttlHours.optional(),
      })
      .optional(),
    payload: PayloadSchema.optional(),
    metadata: JsonObjectSchema.optional(),
  }),
)

/** What a sender supplies to {@link createMessage}. */
export type MessageInput = z.input<typeof MessageInputSchema>

/** Where {@link createMessage} gets time and ids from. */
export interface MessageFactoryDeps {
  clock?: Clock
  ids?: IdGenerator
}

/**
 * Builds a valid {@link MessageV2} from sender fields: mints the id, timestamp and (for a new thread) the
 * conversation id, and applies the default priority and TTL. Throws `ValidationError` on bad input.
 */
export function createMessage(input: MessageInput, deps: MessageFactoryDeps = {}): MessageV2 {
  const fields = parseOrThrow(MessageInputSchema, input, 'message')
  const clock = deps.clock ?? systemClock
  const message: MessageV2 = {
    id: fields.id ?? newMessageId(deps.ids),
    version: PROTOCOL_VERSION,
    fromAgent: fields.fromAgent,
    toAgent: fields.toAgent,
    subject: fields.subject,
    body: fields.body,
    timestamp: fields.timestamp ?? new Date(clock.now()).toISOString(),
    priority: fields.priority,
    // The wire message: no key for an absent field, as in a message parsed back from JSON.
    routing: {
      ...(fields.routing?.replyTo === undefined ? {} : { replyTo: fields.routing.replyTo }),
      conversationId: fields.routing?.conversationId ?? newConversationId(deps.ids),
      ttlHours: fields.routing?.ttlHours ?? DEFAULT_TTL_HOURS,
    },
    ...(fields.payload === undefined ? {} : { payload: fields.payload }),
    ...(fields.metadata === undefined ? {} : { metadata: fields.metadata }),
  }
  return message
}

/** Validates an unknown value as a {@link MessageV2}, throwing `ValidationError` with every issue. */
export function parseMessage(value: unknown): MessageV2 {
  return parseOrThrow(MessageV2Schema, value, 'message')
}

/**
 * Why `message` may not be accepted as sent, when it is an `approval_response` claiming a decision by
 * someone other than its sender (`payload.data.decidedBy` ≠ `fromAgent`); `undefined` otherwise. A decision
 * is sent by whoever made it — the person the console authenticated, or its expiry decider — so a client
 * cannot answer an approval request in a human's name. Checked when a message is sent, not when a stored
 * one is read.
 */
export function decidedBySenderProblem(
  message: Pick<MessageV2, 'fromAgent' | 'payload'>,
): string | undefined {
  if (message.payload?.type !== 'approval_response') return undefined
  const decidedBy = (message.payload.data as { decidedBy?: unknown } | null)?.decidedBy
  if (decidedBy === message.fromAgent) return undefined
  return `payload.data.decidedBy must be the sender ('${message.fromAgent}'): an approval is answered by the one who decides it`
}

/** True for a message addressed to every agent: `toAgent: "*"` or a `broadcast` payload. */
export function isBroadcast(message: Pick<MessageV2, 'toAgent' | 'payload'>): boolean {
  return message.toAgent === '*' || message.payload?.type === 'broadcast'
}

/** Milliseconds since the epoch at which the message expires. */
export function expiresAt(message: Pick<MessageV2, 'timestamp' | 'routing'>): number {
  return Date.parse(message.timestamp) + Math.round(message.routing.ttlHours * 3_600_000)
}

/** A message handed out by a claim, with its lease. */
export const ClaimedMessageSchema = lazySchema(() =>
  z.object({ message: MessageV2Schema, lease: LeaseSchema }),
)

/** A message handed out by a claim, with its lease. */
export type ClaimedMessage = z.output<typeof ClaimedMessageSchema>

/** A message and all its deliveries. */
export const MessageStatusSchema = lazySchema(() =>
  z.object({
    message: MessageV2Schema,
    deliveries: z.array(DeliveryInfoSchema),
  }),
)

/** A message and all its deliveries. */
export type MessageStatus = z.output<typeof MessageStatusSchema>

/**
 * Whether `agent` may see the message of `status`: it sent it, or it was delivered to it. A caller reading
 * as one agent (a relay agent, a console person, a bound MCP session) is told any other message does not
 * exist, so ids cannot be probed.
 */
export function sentOrReceivedBy(
  status: { message: { fromAgent: string }; deliveries: readonly { recipient: string }[] },
  agent: string,
): boolean {
  return status.message.fromAgent === agent || status.deliveries.some((d) => d.recipient === agent)
}

/** What a send did. */
export const SendResultSchema = lazySchema(() =>
  z.object({
    messageId: z.string(),
    /** True when a message with this id was already stored; nothing was written. */
    duplicate: z.boolean(),
    /** Deliveries created (0 for a duplicate, or a broadcast with no recipients). */
    deliveries: z.number().int(),
    recipients: z.array(z.string()),
    message: MessageV2Schema,
  }),
)

/** What a send did. */
export type SendResult = z.output<typeof SendResultSchema>
