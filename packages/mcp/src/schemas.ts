// The output schemas of the tools. They reuse the protocol's schemas; the only change is the priority, whose
// protocol schema is a transform (it accepts the alias `urgent`) and so cannot be written as JSON Schema for
// the output side. Results only ever hold the canonical priorities.
import {
  AckResultSchema,
  AgentIdSchema,
  AgentProfileSchema,
  CleanupReportSchema,
  DeliveryInfoSchema,
  LeaseSchema,
  MessageIdSchema,
  MessageV2Schema,
  NackResultSchema,
  PrioritySchema,
  SpoolStatsSchema,
} from '@agent-comm/protocol'
import { z } from 'zod'

/** A message as tools return it (protocol 2.0, canonical priority). */
export const MessageOutputSchema = MessageV2Schema.extend({ priority: PrioritySchema })

/** A claimed message: the message and its lease (with the receipt to ack it). */
export const ClaimedMessageOutputSchema = z.object({ message: MessageOutputSchema, lease: LeaseSchema })

/** A message and every delivery of it. */
export const MessageStatusOutputSchema = z.object({
  message: MessageOutputSchema,
  deliveries: z.array(DeliveryInfoSchema),
})

/** A registered agent. */
export const AgentOutputSchema = AgentProfileSchema

/** What comm_send and comm_reply report. */
export const SendOutputShape = {
  messageId: MessageIdSchema,
  conversationId: z.string(),
  recipients: z.array(z.string()).describe('agents a delivery was queued for'),
  deliveries: z.number().int(),
  duplicate: z.boolean().describe('true when a message with this id was already stored; nothing was sent'),
  heldUntil: z.string().optional().describe('for a held group message: until when later agents get it'),
}

/** What comm_poll returns. */
export const PollOutputShape = {
  agentId: AgentIdSchema,
  count: z.number().int(),
  messages: z.array(ClaimedMessageOutputSchema),
}

export const AckOutputShape = AckResultSchema.shape
export const NackOutputShape = NackResultSchema.shape
export const StatusOutputShape = MessageStatusOutputSchema.shape

/** Spool figures with the registry's presence counts. */
export const StatsOutputShape = {
  ...SpoolStatsSchema.shape,
  registeredAgents: z.object({
    active: z.number().int(),
    inactive: z.number().int(),
    offline: z.number().int(),
  }),
}

/** What comm_cleanup removed (or, on a dry run, would remove). */
export const CleanupOutputShape = CleanupReportSchema.extend({
  /** On a relay's database: the finished A2A tasks removed (or counted), and their callers' message ids. */
  a2aTasks: z.number().int().optional(),
  a2aCallerMessages: z.number().int().optional(),
}).shape

/** A relay secret's public facts: never the secret. */
export const RelaySecretInfoSchema = z.object({
  agentId: z.string(),
  createdAt: z.string(),
  activeSecrets: z.number().int().optional(),
  previousValidUntil: z.string().optional(),
})
