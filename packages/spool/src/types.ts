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

/** Options for {@link Spool.claim}. */
export interface ClaimOptions {
  /** At most this many messages (1–1000, default 10). */
  limit?: number
  /** Lease length in seconds (default: the spool's, 60). */
  leaseSeconds?: number
}

/** Options for {@link Spool.ack}. */
export interface AckOptions {
  receipt?: string
}

/** Options for {@link Spool.nack}. */
export interface NackOptions {
  /** Dead-letter it now instead of retrying: for failures a retry cannot fix. */
  deadLetter?: boolean
  reason?: string
  receipt?: string
  /** Keep the message invisible this long before redelivery (default: the spool's backoff). */
  delaySeconds?: number
}

/** Options for {@link Spool.extendLease}. */
export interface ExtendLeaseOptions {
  receipt?: string
  /** New lease length from now, in seconds (default: the spool's lease). */
  leaseSeconds?: number
}

/** Filters for {@link Spool.search}. */
export interface SearchQuery {
  /** Full-text query over subject and body (words; FTS5 syntax is not required). */
  text?: string
  from?: string
  to?: string
  conversationId?: string
  /** Only messages created at or after this time. */
  since?: number | Date | string
  /** At most this many (default 50, at most 1000). */
  limit?: number
}

/** Result of {@link Spool.verify}. */
export interface VerifyReport {
  ok: boolean
  problems: string[]
  checks: string[]
}

/** Options for {@link Spool.cleanup}. */
export interface CleanupOptions {
  /** Report what would be removed without removing it. */
  dryRun?: boolean
  /** Also remove messages whose deliveries were all acked more than this many ms ago. */
  ackedOlderThanMs?: number
}

export type { CleanupReport, ConversationSummary, SpoolStats } from '@agent-comm/protocol'

/** A dead-lettered delivery. */
export type FailedDelivery = MessageDelivery

/** A delivery still to be done: queued (due or delayed) or leased. */
export type PendingDelivery = MessageDelivery

/** Options for {@link Spool.waitForMessages}. */
export interface WaitOptions {
  /** Give up after this many ms and resolve `false` (default: wait until a message or the signal). */
  timeoutMs?: number
  signal?: AbortSignal
}
