import { z } from 'zod'

/**
 * Where one delivery (a message to one recipient) stands:
 * `queued` → `leased` → `acked`, back to `queued` on nack or lease expiry, `failed` once out of attempts,
 * `expired` when its TTL ran out before it was acked.
 */
export const DELIVERY_STATUSES = ['queued', 'leased', 'acked', 'failed', 'expired'] as const

/** Where one delivery stands. */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

/** Schema of {@link DeliveryStatus}. */
export const DeliveryStatusSchema = z.enum(DELIVERY_STATUSES, {
  error: () => `must be one of ${DELIVERY_STATUSES.join(', ')}`,
})
