import { z } from 'zod'

/** Validated public options of the spool's operations: every call from outside is checked here. */
export const ClaimOptionsSchema = z.object({
  limit: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(10),
  leaseSeconds: z
    .number()
    .positive('must be a positive number of seconds')
    .max(86_400 * 7, 'must be at most 7 days')
    .optional(),
})

export const DelaySchema = z
  .number()
  .min(0, 'must not be negative')
  .max(86_400 * 365, 'must be at most a year')
  .optional()

export const SendOptionsSchema = z.object({
  recipients: z.array(z.string()).optional(),
  delaySeconds: DelaySchema,
  notBefore: z.union([z.number(), z.date()]).optional(),
  maxAttempts: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1000).optional(),
})

export const NackOptionsSchema = z.object({
  deadLetter: z.boolean().optional(),
  reason: z
    .string()
    .max(64 * 1024, 'must be at most 64 KiB')
    .optional(),
  receipt: z.string().optional(),
  delaySeconds: DelaySchema,
})

export const ExtendLeaseOptionsSchema = z.object({
  receipt: z.string().optional(),
  leaseSeconds: ClaimOptionsSchema.shape.leaseSeconds,
})

export const SearchQuerySchema = z.object({
  text: z.string().max(1024).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  conversationId: z.string().optional(),
  since: z.union([z.number(), z.date(), z.iso.datetime({ offset: true })]).optional(),
  limit: z.number().int().min(1).max(1000).default(50),
})

export const CleanupOptionsSchema = z.object({
  dryRun: z.boolean().default(false),
  ackedOlderThanMs: z.number().min(0, 'must not be negative').optional(),
})

export const WaitOptionsSchema = z.object({
  timeoutMs: z.number().min(0, 'must not be negative').optional(),
  signal: z.instanceof(AbortSignal).optional(),
})
