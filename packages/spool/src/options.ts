import { TransportSendOptionsSchema } from '@agent-comm/protocol'
import { z } from 'zod'

// The options every transport shares (claim, nack, extend, wait) are the protocol's; these are the spool's own.
export {
  ClaimOptionsSchema,
  ExtendLeaseOptionsSchema,
  NackOptionsSchema,
  WaitOptionsSchema,
} from '@agent-comm/protocol'

/** Send options: the transports' own plus `notBefore`, an absolute time before which nothing is delivered. */
export const SendOptionsSchema = TransportSendOptionsSchema.extend({
  notBefore: z.union([z.number(), z.date()]).optional(),
})

export const SearchQuerySchema = z.object({
  text: z.string().max(1024).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  conversationId: z.string().optional(),
  since: z.union([z.number(), z.date(), z.iso.datetime({ offset: true })]).optional(),
  limit: z.number().int().min(1).max(1000).default(50),
})

export const PendingOptionsSchema = z.object({
  limit: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(50),
})

export const CleanupOptionsSchema = z.object({
  dryRun: z.boolean().default(false),
  ackedOlderThanMs: z.number().min(0, 'must not be negative').optional(),
})
