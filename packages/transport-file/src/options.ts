import type { Clock } from '@agent-comm/protocol'
import { z } from 'zod'

const LeaseSecondsSchema = z
  .number()
  .positive('must be a positive number of seconds')
  .max(86_400 * 7, 'must be at most 7 days')

const MaxAttemptsSchema = z.number().int('must be a whole number').min(1, 'must be at least 1').max(1000)

const DelaySchema = z
  .number()
  .min(0, 'must not be negative')
  .max(86_400 * 365, 'must be at most a year')

/** Everything a {@link FileTransport} is built from. Only `root` is required. */
export interface FileTransportOptions {
  /** Folder holding the transport's folders (created if missing). Processes sharing it share the queue. */
  root: string
  /** Where time comes from (default: the system clock). */
  clock?: Clock
  /** Default lease length in seconds (60). */
  leaseSeconds?: number
  /** Default attempts before a delivery is dead-lettered (3). */
  maxAttempts?: number
  /** Safety re-check of waitForMessages in case file events are missed, in ms (1 000). */
  wakeIntervalMs?: number
}

export const FileTransportOptionsSchema = z.object({
  root: z.string({ error: 'must be a folder path' }).min(1, 'must be a folder path'),
  clock: z
    .custom<Clock>((v) => typeof (v as Clock | null)?.now === 'function', 'must have a now() method')
    .optional(),
  leaseSeconds: LeaseSecondsSchema.default(60),
  maxAttempts: MaxAttemptsSchema.default(3),
  wakeIntervalMs: z.number().positive('must be a positive number of ms').default(1000),
})

export const SendOptionsSchema = z.object({
  recipients: z.array(z.string()).optional(),
  delaySeconds: DelaySchema.optional(),
  maxAttempts: MaxAttemptsSchema.optional(),
})

export const ClaimOptionsSchema = z.object({
  limit: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(10),
  leaseSeconds: LeaseSecondsSchema.optional(),
})

export const AckOptionsSchema = z.object({ receipt: z.string().optional() })

export const NackOptionsSchema = z.object({
  /** Dead-letter now instead of retrying. */
  deadLetter: z.boolean().optional(),
  reason: z
    .string()
    .max(64 * 1024, 'must be at most 64 KiB')
    .optional(),
  receipt: z.string().optional(),
  delaySeconds: DelaySchema.optional(),
})

export const ExtendLeaseOptionsSchema = z.object({
  receipt: z.string().optional(),
  leaseSeconds: LeaseSecondsSchema.optional(),
})

export const WaitOptionsSchema = z.object({
  timeoutMs: z.number().min(0, 'must not be negative').optional(),
  signal: z.instanceof(AbortSignal).optional(),
})
