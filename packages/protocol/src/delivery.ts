import { z } from 'zod'
import { lazySchema } from './lazy-schema.js'

/**
 * Where one delivery (a message to one recipient) stands:
 * `queued` → `leased` → `acked`, back to `queued` on nack or lease expiry, `failed` once out of attempts,
 * `expired` when its TTL ran out before it was acked.
 */
export const DELIVERY_STATUSES = ['queued', 'leased', 'acked', 'failed', 'expired'] as const

/** Where one delivery stands. */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

/** Schema of {@link DeliveryStatus}. */
export const DeliveryStatusSchema = lazySchema(() =>
  z.enum(DELIVERY_STATUSES, {
    error: () => `must be one of ${DELIVERY_STATUSES.join(', ')}`,
  }),
)

const IsoTime = lazySchema(() => z.iso.datetime({ offset: true }))

/** The lease side of a claimed message. */
export const LeaseSchema = lazySchema(() =>
  z.object({
    recipient: z.string(),
    /** Which attempt this is, from 1. */
    attempt: z.number().int(),
    maxAttempts: z.number().int(),
    /** ISO time the lease runs out. */
    leaseUntil: IsoTime,
    /** Proof of this particular claim: pass it to ack / nack / extendLease to detect a lost lease. */
    receipt: z.string(),
  }),
)

/** The lease side of a claimed message. */
export type Lease = z.infer<typeof LeaseSchema>

/** One delivery of a message (to one recipient) and where it stands. */
export const DeliveryInfoSchema = lazySchema(() =>
  z.object({
    recipient: z.string(),
    status: DeliveryStatusSchema,
    attempt: z.number().int(),
    maxAttempts: z.number().int(),
    /** ISO time the lease runs out (leased only). */
    leaseUntil: IsoTime.nullable(),
    /** ISO time a queued delivery becomes visible (queued only). */
    availableAt: IsoTime.nullable(),
    lastError: z.string().nullable(),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    ackedAt: IsoTime.nullable(),
  }),
)

/** One delivery of a message and where it stands. */
export type DeliveryInfo = z.infer<typeof DeliveryInfoSchema>

/** What an ack did. */
export const AckResultSchema = lazySchema(() =>
  z.object({
    messageId: z.string(),
    recipient: z.string(),
    status: z.literal('acked'),
    /** True when the delivery was acked already; nothing changed. */
    alreadyAcked: z.boolean(),
  }),
)

/** What an ack did. */
export type AckResult = z.infer<typeof AckResultSchema>

/** What a nack did. */
export const NackResultSchema = lazySchema(() =>
  z.object({
    messageId: z.string(),
    recipient: z.string(),
    /** `queued` for a retry, `failed` when the attempts are used up. */
    status: z.enum(['queued', 'failed']),
    attempt: z.number().int(),
    maxAttempts: z.number().int(),
    /** ISO time it becomes visible again (queued only). */
    availableAt: IsoTime.optional(),
  }),
)

/** What a nack did. */
export type NackResult = z.infer<typeof NackResultSchema>

/** What an extendLease did. */
export const ExtendLeaseResultSchema = lazySchema(() =>
  z.object({
    messageId: z.string(),
    recipient: z.string(),
    leaseUntil: IsoTime,
  }),
)

/** What an extendLease did. */
export type ExtendLeaseResult = z.infer<typeof ExtendLeaseResultSchema>
