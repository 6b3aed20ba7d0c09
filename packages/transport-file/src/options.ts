import {
  type Clock,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_MAX_ATTEMPTS,
  LeaseSecondsSchema,
  type Logger,
  MaxAttemptsSchema,
} from '@agent-comm/protocol'
import { z } from 'zod'

/** What a {@link FileTransport} is built from, checked when it opens. */
export const FileTransportOptionsSchema = z.object({
  /** Folder holding the transport's folders (created if missing). Processes sharing it share the queue. */
  root: z.string({ error: 'must be a folder path' }).min(1, 'must be a folder path'),
  /** Where time comes from (default: the system clock). */
  clock: z
    .custom<Clock>((v) => typeof (v as Clock | null)?.now === 'function', 'must have a now() method')
    .optional(),
  /** Default lease length in seconds (60). */
  leaseSeconds: LeaseSecondsSchema.default(DEFAULT_LEASE_SECONDS),
  /** Default attempts before a delivery is dead-lettered (3). */
  maxAttempts: MaxAttemptsSchema.default(DEFAULT_MAX_ATTEMPTS),
  /** Safety re-check of waitForMessages in case file events are missed, in ms (1 000). */
  wakeIntervalMs: z.number().positive('must be a positive number of ms').default(1000),
  /**
   * Where the transport reports a delivery file it cannot read (damaged, or breaking the protocol's
   * limits): it is left where it is, out of claims, and reported once until it changes. Silent by default.
   */
  logger: z
    .custom<Logger>((v) => typeof (v as Logger | null)?.warn === 'function', 'must be a Logger')
    .optional(),
})

/** Everything a {@link FileTransport} is built from. Only `root` is required. */
export type FileTransportOptions = z.input<typeof FileTransportOptionsSchema>
