import type { Clock, MessageV2 } from '@agent-comm/protocol'
import type { ExportRowsParams, ImportRowsParams } from './copy.js'
import type {
  CleanupReport,
  ConversationSummary,
  FailedDelivery,
  MessageStatus,
  PendingDelivery,
  SpoolStats,
  VerifyReport,
} from './types.js'

/**
 * The storage seam of the spool (River's driver shape): one method per operation, each taking a params
 * object, each **one transaction** of its own, each reporting facts — rows changed, the state a row is in —
 * rather than throwing the spool's domain errors. Everything that *means* something (validation, defaults,
 * ids, clock arithmetic, receipts, retry backoff, error codes, the wake-up scheduler) stays in `Spool`; a
 * store only keeps rows. Two stores implement it: SQLite (embedded, in this package) and PostgreSQL
 * (`@agent-comm/postgres`). Every store passes the store contract suite.
 *
 * A store throws only `StorageError` (`code: 'STORAGE'`, with a hint): the database is unreachable,
 * read-only, damaged or full. It maps its driver's errors to it; it never lets a driver error through.
 *
 * Times are milliseconds since the epoch, passed in by the spool (which owns the clock): a store never
 * reads the time itself.
 */
export interface SpoolStore {
  /** Which store this is: `sqlite` or `postgres`. */
  readonly kind: string
  /** Where the data is, safe to show: a file path, or a URL without its password. */
  readonly location: string
  /** True when every write is refused (`StorageError` with `details.reason` `'read-only'`). */
  readonly readonly: boolean
  /**
   * The time source this store prefers when the spool is given no clock: PostgreSQL's is the server's time,
   * so processes on several machines judge leases alike. Absent: the system clock.
   */
  readonly clock?: Clock | undefined

  /**
   * Stores messages, each with its deliveries (`queued`, attempt 0), all in one transaction. A send with
   * an `idempotency` key its sender holds live (unexpired at `now`) is a duplicate of the message the key
   * stored (`originalId`): nothing is written for it, its id is not even looked at. Otherwise the key is
   * recorded (taking over an expired one) with the message. An id already stored by the **same** sender is
   * a duplicate: nothing is written for it. An id stored by **another** sender writes nothing at all (the
   * whole transaction is rolled back) and reports that item's index.
   */
  insertMessages(params: InsertMessagesParams): Promise<InsertMessagesOutcome>

  /**
   * Stores the message if new (with no deliveries) and marks it held until `heldUntil` with `maxAttempts`
   * for the deliveries released later; one transaction. `foreignId`: the id is another sender's, nothing
   * was written.
   */
  holdMessage(params: HoldMessageParams): Promise<{ foreignId: boolean }>

  /**
   * Queues for `agentId` one delivery of every held message it matches (held and not expired at `now`,
   * not sent by it, addressed to `*` or `capability:<c>` for one of `capabilities`) that it does not have
   * yet; returns how many. Idempotent on the (message, recipient) key.
   */
  releaseHeld(params: ReleaseHeldParams): Promise<number>

  /**
   * One claim, in one transaction: leases up to `limit` claimable deliveries of `recipient` — queued and
   * due, or leased with the lease run out and attempts left, message not expired — in claim order
   * (priority rank ascending, then arrival), setting `attempt + 1`, `available_at = lease_until =
   * leaseUntil` and the receipt `${receipt}.${deliveryId}`. Each claimed row is passed to `decode`; a row it
   * cannot decode is dead-lettered (`failed`, its reason as `last_error`) in the same transaction and the
   * claim takes more in its place until `limit` is reached or nothing is claimable. Concurrent claimers
   * never lease the same delivery. May first move leases that ran out on their last attempt to `failed`.
   */
  claim<T>(params: ClaimParams<T>): Promise<ClaimOutcome<T>>

  /**
   * Claims, like {@link claim} with `limit` 1, only the oldest claimable delivery to `recipient` of a
   * message whose `replyTo` is `params.replyTo`: the reply a requester waits for. Every other delivery of
   * the recipient is left as it is. One transaction; an undecodable row is dead-lettered and the next
   * reply taken in its place.
   */
  claimReply<T>(params: ClaimReplyParams<T>): Promise<ClaimOutcome<T>>

  /**
   * Claims, like {@link claim} with `limit` 1, only the delivery of message `params.messageId` to
   * `recipient`, when it is claimable; every other delivery is left as it is. An undecodable row is
   * dead-lettered and nothing is claimed.
   */
  claimMessage<T>(params: ClaimMessageParams<T>): Promise<ClaimOutcome<T>>

  /** Whether `recipient` has a claimable reply to `replyTo` at `now` (see {@link claimReply}). */
  hasReply(params: ReplyQuery & { now: number }): Promise<boolean>

  /** Acks a leased delivery (fenced by `receipt` when given). Reads its state only when nothing changed. */
  ack(params: DeliveryParams): Promise<ChangeOutcome>

  /**
   * Acks many deliveries in one transaction. When an item changed nothing and its delivery is not `acked`
   * (missing, or in another state), the whole transaction is rolled back and that item is reported.
   */
  ackMany(params: AckManyParams): Promise<AckManyOutcome>

  /**
   * Settle-and-claim: acks `acks` as `ackMany` does, then claims as `claim` does, in **one transaction** — a
   * consumer that settles what it handled and leases what comes next pays one commit instead of two. All
   * or nothing, as `ackMany`: when an ack changes nothing and its delivery is not `acked`, nothing is acked
   * or claimed and that item is reported.
   */
  ackAndClaim<T>(params: AckAndClaimParams<T>): Promise<AckAndClaimOutcome<T>>

  /**
   * Releases a leased delivery (fenced by `receipt`), in one transaction: reads its attempt, asks
   * `availableAt(attempt)` when it is due again, then sets it `queued` — or `failed` when `deadLetter` or
   * its attempts are used up — with `reason` as the last error. With `handBack` it is `queued` with its
   * attempt one lower and its last error kept.
   */
  release(params: ReleaseParams): Promise<ReleaseOutcome>

  /** Moves the lease end of a leased delivery (fenced by `receipt`) to `leaseUntil`. */
  extendLease(params: ExtendLeaseParams): Promise<ExtendLeaseOutcome>

  /**
   * Takes a queued or leased delivery back from its recipient (no receipt fence: the sender's side
   * withdraws it): it becomes `failed` with `reason`, so no claim gets it and a holder's ack is refused,
   * and settled (`acked_at` set): it is no dead letter (`listFailed`) and `requeueFailed` skips it.
   * Reads its state only when nothing changed (acked, failed, or missing).
   */
  withdraw(params: WithdrawParams): Promise<ChangeOutcome>

  /**
   * Moves every lease that ran out (at `now`) on its last attempt to `failed`; returns how many. A read-only
   * store does nothing and returns 0.
   */
  sweepExhaustedLeases(params: { now: number }): Promise<number>

  /** Requeues the failed deliveries of a message (to one recipient, or all) with fresh attempts. */
  requeueFailed(params: RequeueFailedParams): Promise<RequeueFailedOutcome>

  /** Whether `recipient` has a delivery it could claim at `now`. */
  hasClaimable(params: { recipient: string; now: number }): Promise<boolean>

  /**
   * When the next delivery of `recipient` becomes claimable (a delayed or backed-off one, or a lease that
   * runs out with attempts left), or null when nothing is pending.
   */
  nextAvailableAt(params: { recipient: string; now: number }): Promise<number | null>

  /**
   * The change feed: calls `onChange` (a hint, possibly spurious, possibly coalesced) after a commit by any
   * process may have made a delivery claimable. Sends by this store's own process need not be reported (the
   * spool wakes its own waiters). Returns a function that stops the feed. The spool keeps exact timers and a
   * slow safety poll beside it, so a missed hint only delays a wake-up.
   */
  watch(onChange: () => void): () => void

  /** A message and its deliveries (the delivery read `expired` past its TTL), or undefined. */
  status(params: { messageId: string; now: number }): Promise<MessageStatus | undefined>
  /**
   * Every message of a conversation, oldest first; with `visibleTo`, only the messages that agent may see
   * (see {@link ConversationsParams.visibleTo}).
   */
  conversation(params: ConversationParams): Promise<MessageV2[]>
  /**
   * Threads, most recently active first; with `agent`, only those it sent or received a message in; with
   * `visibleTo`, only those it may see a message of, each summarised over those messages only.
   */
  conversations(params: ConversationsParams): Promise<ConversationSummary[]>
  /** Messages matching every filter, newest first; `text` is plain words, never query syntax. */
  search(params: StoreSearchParams): Promise<MessageV2[]>
  /** Totals by status, queue ages, failure rate, per-agent depth. */
  stats(params: { now: number }): Promise<SpoolStats>
  /**
   * What waits for `recipient` (queued, delayed or leased, not expired), in claim order (most urgent, then
   * oldest), or with `newestFirst` most urgent, then newest.
   */
  pending(params: {
    recipient: string
    limit: number
    now: number
    newestFirst?: boolean
  }): Promise<PendingDelivery[]>
  /** Dead-lettered deliveries, newest first. */
  listFailed(params: { agent?: string; limit: number; now: number }): Promise<FailedDelivery[]>
  /** The store's integrity checks and the spool's invariants. */
  verify(): Promise<VerifyReport>
  /** Deletes (or with `dryRun` counts) expired messages and, if asked, long-acked ones. */
  cleanup(params: {
    dryRun: boolean
    ackedOlderThanMs?: number | undefined
    /** Expired messages are removed once `expires_at` is at least this long before `now` (0). */
    expiredOlderThanMs?: number | undefined
    /** At most this many messages, the oldest first (all when undefined). */
    limit?: number | undefined
    now: number
  }): Promise<CleanupReport>

  /**
   * Reads every row a database copy carries (`@agent-comm/spool/copy`): messages, deliveries, idempotency
   * keys wherever kept, and the rows of each section's tables (a section whose tables the database lacks is
   * left out), all from **one consistent snapshot**, each row checked against the neutral format, and hands
   * them to `sink` in batches of at most `batchRows`, awaiting each (one batch held at a time).
   */
  exportRows?(params: ExportRowsParams): Promise<void>

  /**
   * Writes the rows `source` sends into this database in **one transaction**, after checking that it holds
   * no agent-comm data (else `ConflictError`, nothing written): every delivery keeps its state, attempts,
   * lease and receipt; rows are numbered in the order given. A failure (of a write, or of the source)
   * rolls everything back.
   */
  importRows?(params: ImportRowsParams): Promise<void>

  /** Closes connections and stops the change feed. Safe to call twice. */
  close(): Promise<void>
}

/** Parameters of {@link SpoolStore.conversation}. */
export interface ConversationParams {
  conversationId: string
  /** Only the messages this agent may see (see {@link ConversationsParams.visibleTo}). */
  visibleTo?: string
}

/** Parameters of {@link SpoolStore.conversations}. */
export interface ConversationsParams {
  /** Most threads returned (the spool bounds it to 1..1000). */
  limit: number
  /** Only threads with a message this agent sent or was addressed (`to_agent`); among the visible ones with `visibleTo`. */
  agent?: string
  /**
   * Count only the messages this agent may see: those it sent (`from_agent`), those addressed to it
   * (`to_agent`) and those it has a delivery of (a broadcast or capability message names no recipient, its
   * deliveries do). Threads without such a message are left out; subject, participants, count and times are
   * computed over the visible messages, so knowing a thread's id reveals nothing else of it.
   */
  visibleTo?: string
}

/** A validated message ready to store, with its recipients and delivery settings. */
export interface StoredSend {
  message: MessageV2
  /** One delivery each; empty for a held message. */
  recipients: readonly string[]
  /** When the deliveries become claimable. */
  availableAt: number
  maxAttempts: number
  /** The message's expiry (its timestamp plus TTL). */
  expiresAt: number
  /**
   * The sender's idempotency key and until when it holds (ms since epoch). A live key of the same sender
   * makes the send a duplicate of the message it first stored, whatever this message's id.
   */
  idempotency?: { key: string; expiresAt: number }
}

export interface InsertMessagesParams {
  sends: readonly StoredSend[]
  now: number
}

/**
 * Per send: whether it was new, and how many deliveries were queued (0 for a duplicate). `originalId`: the
 * send was a duplicate by its idempotency key, of the message with that id.
 */
export type InsertMessagesOutcome = { ok: true; results: InsertResult[] } | { ok: false; foreignIdAt: number }

/** What one send of {@link InsertMessagesParams} did. */
export interface InsertResult {
  duplicate: boolean
  deliveries: number
  /** Present when a live idempotency key of the sender made it a duplicate: the message the key stored. */
  originalId?: string
}

export interface HoldMessageParams {
  send: StoredSend
  heldUntil: number
  now: number
}

export interface ReleaseHeldParams {
  agentId: string
  capabilities: readonly string[]
  now: number
  /** Attempts of a released delivery when the hold recorded none. */
  defaultMaxAttempts: number
}

export interface ClaimParams<T> {
  recipient: string
  now: number
  leaseUntil: number
  limit: number
  /** The claim's fresh token; each delivery's receipt is `${receipt}.${deliveryId}`. */
  receipt: string
  /** Turns a claimed message row into what the caller gets, or says why it cannot be read. */
  decode: (row: MessageRecord) => { value: T } | { unreadable: string }
}

/** Which reply a requester waits for: to `replyTo`, delivered to `recipient`, sent by one of `from`. */
export interface ReplyQuery {
  recipient: string
  /** The id of the request whose reply is claimed. */
  replyTo: string
  /**
   * Only a reply whose sender is one of these agents (the request's recipients); any sender's when absent.
   * Another agent's message with the same `replyTo` is left as it is.
   */
  from?: readonly string[] | undefined
}

/** Parameters of {@link SpoolStore.claimReply}: a claim of one, limited to replies to `replyTo`. */
export interface ClaimReplyParams<T> extends Omit<ClaimParams<T>, 'limit'>, ReplyQuery {}

/** Parameters of {@link SpoolStore.claimMessage}: a claim of one named message. */
export interface ClaimMessageParams<T> extends Omit<ClaimParams<T>, 'limit'> {
  /** The id of the message whose delivery to `recipient` is claimed. */
  messageId: string
}

/** One leased delivery of a claim. */
export interface ClaimedRecord<T> {
  value: T
  deliveryId: number
  attempt: number
  maxAttempts: number
  receipt: string
}

export interface ClaimOutcome<T> {
  /** In claim order. */
  claimed: ClaimedRecord<T>[]
  /** Rows `decode` refused, dead-lettered in the claim's transaction. */
  deadLettered: { messageId: string; reason: string }[]
}

/** The state of one delivery as stored. */
export interface DeliveryState {
  status: 'queued' | 'leased' | 'acked' | 'failed' | 'expired'
  attempt: number
  maxAttempts: number
  receipt: string | null
}

export interface DeliveryParams {
  messageId: string
  recipient: string
  /** The claim's receipt; null skips the fence (any current lease). */
  receipt: string | null
  now: number
}

/** `changed`: the operation applied. Otherwise `state` is the delivery's state, or null when there is none. */
/** Parameters of {@link SpoolStore.withdraw}. */
export interface WithdrawParams {
  messageId: string
  recipient: string
  reason: string
  now: number
}

export type ChangeOutcome = { changed: true } | { changed: false; state: DeliveryState | null }

export interface AckManyParams {
  items: readonly { messageId: string; recipient: string; receipt: string | null }[]
  now: number
}

export type AckManyOutcome =
  | { ok: true; alreadyAcked: boolean[] }
  | { ok: false; refusedAt: number; state: DeliveryState | null }

export interface AckAndClaimParams<T> {
  /** What to ack first (may be empty: then this is a claim). */
  acks: AckManyParams
  claim: ClaimParams<T>
}

export type AckAndClaimOutcome<T> =
  | ({ ok: true; alreadyAcked: boolean[] } & ClaimOutcome<T>)
  | { ok: false; refusedAt: number; state: DeliveryState | null }

export interface ReleaseParams extends DeliveryParams {
  reason: string
  deadLetter: boolean
  /**
   * A hand-back: the attempt the claim counted is given back (never below 0), the delivery is `queued`
   * whatever its attempts, and its last error stays as it was (`reason` is not recorded).
   */
  handBack: boolean
  /** When the delivery is due again, given its current attempt number. */
  availableAt: (attempt: number) => number
}

export type ReleaseOutcome =
  | {
      changed: true
      status: 'queued' | 'failed'
      attempt: number
      maxAttempts: number
      availableAt: number
    }
  | { changed: false; state: DeliveryState | null }

export interface ExtendLeaseParams extends DeliveryParams {
  leaseUntil: number
}

export type ExtendLeaseOutcome =
  | { changed: true; leaseUntil: number }
  | { changed: false; state: DeliveryState | null }

export interface RequeueFailedParams {
  messageId: string
  /** Only this recipient's delivery; all failed deliveries of the message when absent. */
  recipient?: string
  now: number
}

export interface RequeueFailedOutcome {
  requeued: number
  /** Read only when nothing was requeued: whether the message exists. */
  messageExists: boolean
  /** Read only when nothing was requeued and a recipient was given: its delivery's state. */
  state: DeliveryState | null
  /**
   * Read only when nothing was requeued: how many of the deliveries asked for were withdrawn by their
   * sender (failed with `acked_at` set: settled, never requeued).
   */
  withdrawn: number
}

export interface StoreSearchParams {
  text?: string
  from?: string
  to?: string
  conversationId?: string
  /** ms since epoch. */
  since?: number
  limit: number
}

/**
 * A stored message row, as every store reads it back (JSON columns as stored text). The spool's row
 * readers (`storedMessageFromRow`, `checkedMessageFromRow`) turn it into a message.
 */
export interface MessageRecord {
  seq: number
  id: string
  fromAgent: string
  toAgent: string
  subject: string
  body: string
  /** 0 = critical … 3 = low. */
  priority: number
  conversationId: string
  replyTo: string | null
  ttlHours: number
  payload: string | null
  metadata: string | null
  createdAt: number
  expiresAt: number
}

/**
 * A stored delivery row, as every store reads it back for `status`, `pending` and `listFailed`. The spool's
 * row reader `deliveryFromRow` turns it into the public view.
 */
export interface DeliveryRecord {
  recipient: string
  status: DeliveryState['status']
  attempt: number
  maxAttempts: number
  /** ms since epoch, or null when not leased. */
  leaseUntil: number | null
  availableAt: number
  expiresAt: number
  lastError: string | null
  createdAt: number
  updatedAt: number
  ackedAt: number | null
}
