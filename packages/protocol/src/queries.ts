import { z } from 'zod'
import { DeliveryInfoSchema, DeliveryStatusSchema } from './delivery.js'
import { lazySchema } from './lazy-schema.js'
import { MessageV2Schema } from './message.js'

/**
 * What the spool's queries answer, as every surface shows it — the spool, the relay's API, the MCP tools —
 * so they agree by construction.
 */

/** A thread: its first subject, who took part, how many messages, and when it started and last moved. */
export const ConversationSummarySchema = lazySchema(() =>
  z.object({
    conversationId: z.string(),
    subject: z.string(),
    participants: z.array(z.string()),
    messageCount: z.number().int(),
    /** ISO time of the first message. */
    firstActivity: z.string(),
    /** ISO time of the latest message. */
    lastActivity: z.string(),
  }),
)

/** A thread as listed. */
export type ConversationSummary = z.output<typeof ConversationSummarySchema>

/** Queue figures: totals by delivery status, queue ages, failure rate and live deliveries per agent. */
export const SpoolStatsSchema = lazySchema(() =>
  z.object({
    totalMessages: z.number().int(),
    deliveries: z.record(DeliveryStatusSchema, z.number().int()),
    /** Age in ms of the oldest delivery waiting to be claimed, or null. */
    oldestQueuedAgeMs: z.number().nullable(),
    /** Age in ms of the oldest live lease, or null. */
    oldestLeaseAgeMs: z.number().nullable(),
    /** failed / (acked + failed), 0 when nothing finished. */
    failedRate: z.number(),
    /** Live deliveries per recipient. */
    agents: z.record(
      z.string(),
      z.object({ queued: z.number().int(), leased: z.number().int(), failed: z.number().int() }),
    ),
  }),
)

/** Queue figures. */
export type SpoolStats = z.output<typeof SpoolStatsSchema>

/** A message with one of its deliveries (a dead letter, a pending delivery). */
export const MessageDeliverySchema = lazySchema(() =>
  z.object({ message: MessageV2Schema, delivery: DeliveryInfoSchema }),
)

/** A message with one of its deliveries. */
export type MessageDelivery = z.output<typeof MessageDeliverySchema>

/** What a cleanup removed (or, on a dry run, would remove). */
export const CleanupReportSchema = lazySchema(() =>
  z.object({
    dryRun: z.boolean(),
    expiredMessages: z.number().int(),
    ackedMessages: z.number().int(),
    deliveries: z.number().int(),
  }),
)

/** What a cleanup removed. */
export type CleanupReport = z.output<typeof CleanupReportSchema>
