import {
  AgentIdSchema,
  freeText,
  ListLimitOptionSchema,
  TransportSendOptionsSchema,
} from '@agent-comm/protocol'
import { lazySchema } from '@agent-comm/protocol/lazy-schema'
import { z } from 'zod'

// The options every transport shares (claim, nack, extend, wait) are the protocol's; these are the spool's own.
export {
  AckOptionsSchema,
  ClaimOptionsSchema,
  ClaimReplyOptionsSchema,
  ExtendLeaseOptionsSchema,
  NackOptionsSchema,
  ReplySendersSchema,
  WaitOptionsSchema,
} from '@agent-comm/protocol'

/** Longest age `cleanup` takes for acked messages: 1,000 years, in ms. */
const MAX_CLEANUP_AGE_MS = 1000 * 365.25 * 86_400_000

/** Send options: the transports' own plus `notBefore`, an absolute time before which nothing is delivered. */
export const SendOptionsSchema = lazySchema(() =>
  TransportSendOptionsSchema.extend({
    notBefore: z.union([z.number(), z.date()]).optional(),
  }),
)

/** Filters of a search: every given one must match. */
export const SearchQuerySchema = lazySchema(() =>
  z.object({
    /** Full-text query over subject and body (words; FTS5 syntax is not required). */
    text: freeText().max(1024).optional(),
    from: freeText().optional(),
    to: freeText().optional(),
    conversationId: freeText().optional(),
    /** Only messages created at or after this time. */
    since: z.union([z.number(), z.date(), z.iso.datetime({ offset: true })]).optional(),
    limit: ListLimitOptionSchema,
    /**
     * Only the messages this agent may see: those it sent, and those addressed or delivered to it (as
     * `conversation`'s `visibleTo`). For a caller reading as one agent: a relay agent, a console person, a
     * bound MCP session.
     */
    visibleTo: AgentIdSchema.optional(),
  }),
)

export const PendingOptionsSchema = lazySchema(() =>
  z.object({
    limit: ListLimitOptionSchema,
    /** Most urgent first, then newest (a person's inbox) instead of claim order (most urgent, then oldest). */
    newestFirst: z.boolean().default(false),
  }),
)

export const CleanupOptionsSchema = lazySchema(() =>
  z.object({
    /** Report what would be removed without removing it. */
    dryRun: z.boolean().default(false),
    /**
     * Also remove messages whose deliveries were all acked more than this many ms ago (whole ms, at most
     * 1,000 years: a cut-off before that is one no store's timestamps can hold, and means "nothing").
     */
    ackedOlderThanMs: z
      .number()
      .min(0, 'must not be negative')
      .max(MAX_CLEANUP_AGE_MS, 'must be at most 1,000 years')
      .transform(Math.round)
      .optional(),
    /**
     * Keep expired messages (past their TTL, dead letters among them) until they expired more than this many
     * ms ago (default 0: removed as soon as they expire), so they can still be looked at for a while.
     */
    expiredOlderThanMs: z
      .number()
      .min(0, 'must not be negative')
      .max(MAX_CLEANUP_AGE_MS, 'must be at most 1,000 years')
      .transform(Math.round)
      .optional(),
    /**
     * Remove at most this many messages, the oldest first, so each call is one short write transaction: call
     * again until a report counts fewer (all matching messages when not given).
     */
    limit: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000).optional(),
  }),
)
