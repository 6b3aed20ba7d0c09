import { z } from 'zod'
import { ConversationIdSchema, MessageIdSchema } from './identifiers.js'

/** Default time-to-live of a message, in hours. */
export const DEFAULT_TTL_HOURS = 24

/** Threading and lifetime of a message. */
export const RoutingInfoSchema = z.object({
  /** The message this one answers. */
  replyTo: MessageIdSchema.optional(),
  /** Shared by every message of one thread; minted for a new thread, inherited by replies. */
  conversationId: ConversationIdSchema,
  /** Hours after `timestamp` when the message stops being delivered. */
  ttlHours: z
    .number()
    .positive('must be a positive number of hours')
    .max(24 * 365 * 10, 'must be at most ten years')
    .default(DEFAULT_TTL_HOURS),
})

/** Threading and lifetime of a message. */
export type RoutingInfo = z.infer<typeof RoutingInfoSchema>
