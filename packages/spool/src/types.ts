import type {
  AckResult,
  ClaimedMessage,
  DeliveryInfo,
  Lease,
  MessageV2,
  NackResult,
  MessageDelivery as ProtocolMessageDelivery,
  MessageStatus as ProtocolMessageStatus,
  SendResult,
} from '@agent-comm/protocol'
import type { z } from 'zod'
import type {
  AckOptionsSchema,
  ClaimOptionsSchema,
  ClaimReplyOptionsSchema,
  CleanupOptionsSchema,
  ExtendLeaseOptionsSchema,
  NackOptionsSchema,
  SearchQuerySchema,
  WaitOptionsSchema,
} from './options.js'

export type { AckResult, ClaimedMessage, DeliveryInfo, Lease, NackResult, SendResult }

/**
 * A stored JSON column of a message that could not be read back (changed by hand, or written by an older
 * version): the message is shown without it, and this says which column and why.
 */
export interface UnreadableColumn {
  column: 'payload' | 'metadata'
  reason: string
}

/** A message as stored, with the columns that could not be read, if any. */
export interface StoredMessage {
  message: MessageV2
  /** Present only when a column was left out of `message` because it could not be read. */
  unreadable?: UnreadableColumn[]
}

/**
 * A message and all its deliveries; `unreadable` names stored columns left out of the message. `heldUntil`
 * is present while the message is held for agents that register later (see `Spool.hold`).
 */
export type MessageStatus = ProtocolMessageStatus & Pick<StoredMessage, 'unreadable'> & { heldUntil?: string }

/** A message with one of its deliveries; `unreadable` names stored columns left out of the message. */
export type MessageDelivery = ProtocolMessageDelivery & Pick<StoredMessage, 'unreadable'>

/** Extra options for {@link Spool.send}. */
export interface SendOptions {
  /**
   * Recipients of a broadcast (`toAgent: "*"` or a `broadcast` payload), or of a capability target.
   * Ignored for a message to a single agent, which is delivered to `toAgent`.
   */
  recipients?: readonly string[]
  /** Keep the message invisible for this many seconds. */
  delaySeconds?: number
  /** Keep the message invisible until this time (ms since epoch or Date). */
  notBefore?: number | Date
  /** Attempts before a delivery is dead-lettered (default: the spool's, 3). */
  maxAttempts?: number
  /**
   * At most one enqueue per sender and key within the spool's window (`idempotencyWindowMs`, 24 h): a
   * later send by the same sender with this key stores nothing and reports the first message's id with
   * `duplicate: true`, whatever its own id.
   */
  idempotencyKey?: string
}

/** Options for {@link Spool.claim}: at most `limit` messages (1–1000, default 10), leased for `leaseSeconds` (default: the spool's). */
export type ClaimOptions = z.input<typeof ClaimOptionsSchema>

/**
 * Options for {@link Spool.claimReply}: the lease (default: the spool's), and `from`, the agents whose
 * reply is taken (any sender's when absent).
 */
export type ClaimReplyOptions = z.input<typeof ClaimReplyOptionsSchema>

/** Options for {@link Spool.ack}: the receipt of the claim being acked. */
export type AckOptions = z.input<typeof AckOptionsSchema>

/**
 * Options for {@link Spool.nack}: `deadLetter` now instead of retrying (for failures a retry cannot fix),
 * the `reason` kept with the delivery, the claim's `receipt`, and `delaySeconds` before redelivery (default:
 * the spool's backoff).
 */
export type NackOptions = z.input<typeof NackOptionsSchema>

/** Options for {@link Spool.extendLease}: the claim's `receipt` and the new lease length from now (default: the spool's lease). */
export type ExtendLeaseOptions = z.input<typeof ExtendLeaseOptionsSchema>

/** Filters for {@link Spool.search}: every given one must match; at most `limit` (default 50, at most 1000). */
export type SearchQuery = z.input<typeof SearchQuerySchema>

/** Result of {@link Spool.verify}. */
export interface VerifyReport {
  ok: boolean
  problems: string[]
  checks: string[]
}

/** Options for {@link Spool.cleanup}: `dryRun` reports without removing; `ackedOlderThanMs` also removes messages acked that long ago; `expiredOlderThanMs` keeps expired ones that long. */
export type CleanupOptions = z.input<typeof CleanupOptionsSchema>

export type { CleanupReport, ConversationSummary, SpoolStats } from '@agent-comm/protocol'

/** A dead-lettered delivery. */
export type FailedDelivery = MessageDelivery

/** A delivery still to be done: queued (due or delayed) or leased. */
export type PendingDelivery = MessageDelivery

/** Options for {@link Spool.waitForMessages}: give up after `timeoutMs` and resolve `false` (default: wait until a message or the signal). */
export type WaitOptions = z.input<typeof WaitOptionsSchema>
