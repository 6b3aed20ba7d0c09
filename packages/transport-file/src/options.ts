import { type Clock, LeaseSecondsSchema, type Logger, MaxAttemptsSchema } from '@agent-comm/protocol'
import { z } from 'zod'

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
  /**
   * Where the transport reports a delivery file it cannot read (damaged, or breaking the protocol's
   * limits): it is left where it is, out of claims, and reported once until it changes. Silent by default.
   */
  logger?: Logger
}

export const FileTransportOptionsSchema = z.object({
  root: z.string({ error: 'must be a folder path' }).min(1, 'must be a folder path'),
  clock: z
    .custom<Clock>((v) => typeof (v as Clock | null)?.now === 'function', 'must have a now() method')
    .optional(),
  leaseSeconds: LeaseSecondsSchema.default(60),
  maxAttempts: MaxAttemptsSchema.default(3),
  wakeIntervalMs: z.number().positive('must be a positive number of ms').default(1000),
  logger: z
    .custom<Logger>((v) => typeof (v as Logger | null)?.warn === 'function', 'must be a Logger')
    .optional(),
})
