import { z } from 'zod'
import * as bounds from './bounds.js'
import { AgentIdSchema, IdempotencyKeySchema } from './identifiers.js'
import { lazySchema } from './lazy-schema.js'
import { freeText } from './text.js'

/** A lease length in seconds: at least 1 ms (leases are kept to the millisecond), at most 7 days. */
export const LeaseSecondsSchema = lazySchema(() =>
  z
    .number()
    .check(
      z.gte(bounds.MIN_LEASE_SECONDS, 'must be a positive number of seconds, at least 0.001 (1 ms)'),
      z.lte(bounds.MAX_LEASE_SECONDS, 'must be at most 7 days'),
    ),
)

/** A delivery delay in seconds: from 0 to a year. */
export const DelaySecondsSchema = lazySchema(() =>
  z
    .number()
    .check(z.gte(0, 'must not be negative'), z.lte(bounds.MAX_DELAY_SECONDS, 'must be at most a year')),
)

/** Delivery attempts before a delivery is dead-lettered: 1–1000. */
export const MaxAttemptsSchema = lazySchema(() =>
  z
    .number()
    .check(
      z.int('must be a whole number'),
      z.gte(1, 'must be at least 1'),
      z.lte(bounds.MAX_DELIVERY_ATTEMPTS),
    ),
)

/**
 * How many messages one claim takes: 1 to `max` (the library's 1000 unless a caller lowers it, as the MCP
 * poll tool does). One bound, one message: a lower ceiling is not chained onto the library's, which would
 * report two contradictory maxima for one value.
 */
export function claimLimitSchema(max: number = bounds.MAX_CLAIM_LIMIT) {
  const ceiling = Math.min(max, bounds.MAX_CLAIM_LIMIT)
  return z
    .number()
    .check(
      z.int('must be a whole number'),
      z.gte(1, 'must be at least 1'),
      z.lte(ceiling, `must be at most ${ceiling}`),
    )
}

/** How many messages one claim takes: 1–1000. */
export const ClaimLimitSchema = lazySchema(() => claimLimitSchema())

/** How many rows one listing (search, pending, conversations, failed deliveries) returns: 1–1000. */
export const ListLimitSchema = lazySchema(() =>
  z
    .number()
    .check(
      z.int('must be a whole number'),
      z.gte(1, 'must be at least 1'),
      z.lte(bounds.MAX_LIST_LIMIT, `must be at most ${bounds.MAX_LIST_LIMIT}`),
    ),
)

/** A listing's limit, `DEFAULT_LIST_LIMIT` (50) when absent. */
export const ListLimitOptionSchema = lazySchema(() => ListLimitSchema.default(bounds.DEFAULT_LIST_LIMIT))

/** How long one poll waits for a first message, in ms: 0 to an hour. */
export const PollWaitMsSchema = lazySchema(() =>
  z
    .number()
    .check(z.gte(0, 'must not be negative'), z.lte(bounds.MAX_POLL_WAIT_MS, 'must be at most an hour')),
)

/** Why a delivery was nacked, kept with it: at most 64 KiB. */
export const NackReasonSchema = lazySchema(() =>
  freeText().max(
    bounds.MAX_NACK_REASON_LENGTH,
    `must be at most ${bounds.MAX_NACK_REASON_LENGTH / 1024} KiB`,
  ),
)

/**
 * The options of the delivery operations every transport takes (send, claim, ack, nack, extend a lease,
 * wait), checked the same way by the spool, the file transport and — with its own stricter wire limits on
 * top — the relay. A transport validates them at its boundary with `parseOrThrow`.
 */
export const TransportSendOptionsSchema = lazySchema(() =>
  z.object({
    /** Recipients of a broadcast or capability target, resolved by the caller (the coordinator). */
    recipients: z.array(freeText()).optional(),
    delaySeconds: DelaySecondsSchema.optional(),
    maxAttempts: MaxAttemptsSchema.optional(),
    /** One enqueue per sender and key within the store's window (see `TransportSendOptions`). */
    idempotencyKey: IdempotencyKeySchema.optional(),
  }),
)

/**
 * The agents a reply may come from (`claimReply`'s `from`): a waiting requester takes only a reply sent by
 * one of the agents its request went to, so an agent that learnt the request's id cannot answer in their
 * place. 1 to 10,000 agent ids.
 */
export const ReplySendersSchema = lazySchema(() =>
  z
    .array(AgentIdSchema)
    .check(
      z.minLength(1, 'must name at least one agent'),
      z.maxLength(10_000, 'must name at most 10,000 agents'),
    )
    .readonly(),
)

/** Reply-claim options: the lease, and the agents whose reply is taken (any sender when absent). */
export const ClaimReplyOptionsSchema = lazySchema(() =>
  z.object({
    leaseSeconds: LeaseSecondsSchema.optional(),
    from: ReplySendersSchema.optional(),
  }),
)

/** Claim options: at most `limit` messages (1–1000, default 10), leased for `leaseSeconds`. */
export const ClaimOptionsSchema = lazySchema(() =>
  z.object({
    limit: ClaimLimitSchema.default(bounds.DEFAULT_CLAIM_LIMIT),
    leaseSeconds: LeaseSecondsSchema.optional(),
  }),
)

/** Ack options: the receipt of the claim being acked. */
export const AckOptionsSchema = lazySchema(() => z.object({ receipt: freeText().optional() }))

/**
 * Nack options: dead-letter at once, the reason kept with the delivery, the claim's receipt, a retry delay —
 * or `handBack`: the consumer never began on the message (a loop that stopped before reaching a message it
 * had claimed ahead), so the attempt its claim counted is given back and it is visible again at once, with
 * its last error as it was. A hand-back never dead-letters, so it takes neither `deadLetter` nor a delay.
 */
export const NackOptionsSchema = lazySchema(() =>
  z
    .object({
      deadLetter: z.boolean().optional(),
      reason: NackReasonSchema.optional(),
      receipt: freeText().optional(),
      delaySeconds: DelaySecondsSchema.optional(),
      handBack: z.boolean().optional(),
    })
    .refine((o) => o.handBack !== true || (o.deadLetter !== true && o.delaySeconds === undefined), {
      message:
        'handBack gives the message back at once with its attempt: it takes neither deadLetter nor delaySeconds',
      path: ['handBack'],
    }),
)

/** Extend-lease options: the claim's receipt and the new lease length from now. */
export const ExtendLeaseOptionsSchema = lazySchema(() =>
  z.object({
    receipt: freeText().optional(),
    leaseSeconds: LeaseSecondsSchema.optional(),
  }),
)

/** Wait options: how long to wait (no limit when absent) and a signal that ends the wait early. */
export const WaitOptionsSchema = lazySchema(() =>
  z.object({
    timeoutMs: z.number().min(0, 'must not be negative').optional(),
    signal: z.instanceof(AbortSignal).optional(),
  }),
)
