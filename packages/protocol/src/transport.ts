import type { z } from 'zod'
import type { AckResult, ExtendLeaseResult, NackResult } from './delivery.js'
import type { ClaimedMessage, MessageStatus, MessageV2, SendResult } from './message.js'
import type { ClaimOptionsSchema, ExtendLeaseOptionsSchema, NackOptionsSchema } from './operation-options.js'

/** Send options every transport understands. */
export interface TransportSendOptions {
  /** Recipients of a broadcast or capability target, resolved by the caller (the coordinator). */
  recipients?: readonly string[]
  delaySeconds?: number
  maxAttempts?: number
  /**
   * At most one enqueue per sender and key within the store's window (24 h by default): a send whose key
   * the same sender already used returns the original message id with `duplicate: true` and delivers
   * nothing, whatever the new message's id.
   */
  idempotencyKey?: string
}

/** Claim options every transport understands: at most `limit` messages (default 10), leased `leaseSeconds`. */
export type TransportClaimOptions = z.input<typeof ClaimOptionsSchema>

/** Nack options every transport understands: the reason, the receipt, a retry delay, or dead-letter at once. */
export type TransportNackOptions = z.input<typeof NackOptionsSchema>

/**
 * One way to move messages: the local SQLite spool, a folder of JSON files, or a remote relay over HTTP.
 * Every implementation has the same delivery semantics (at-least-once, leases with receipts, retries up
 * to `maxAttempts`, then `failed`), which a shared contract test suite proves.
 */
export interface Transport {
  /** Which kind of agent this transport reaches. */
  readonly kind: 'sqlite' | 'http' | 'file'
  /** Stores a complete message and queues its deliveries. Sending an id again is a reported no-op. */
  send(message: MessageV2, options?: TransportSendOptions): Promise<SendResult>
  /** Leases up to `limit` claimable messages of `agent`: most urgent first, then oldest. */
  claim(agent: string, options?: TransportClaimOptions): Promise<ClaimedMessage[]>
  /** Marks a leased delivery done; with a stale receipt fails with `LEASE_LOST`. */
  ack(messageId: string, agent: string, options?: { receipt?: string }): Promise<AckResult>
  /**
   * Optional settle-and-claim: acks `acks` and leases the next messages of `agent` in one transaction (one
   * commit instead of two), claiming nothing if an ack is refused. A transport without it is asked to
   * `ack`, then to `claim`.
   */
  ackAndClaim?(
    acks: ReadonlyArray<{ messageId: string; agent: string; receipt?: string }>,
    agent: string,
    options?: TransportClaimOptions,
  ): Promise<ClaimedMessage[]>
  /**
   * Returns a leased delivery for a retry, or dead-letters it when out of attempts — or at once with
   * `deadLetter: true`, for failures a retry cannot fix.
   */
  nack(messageId: string, agent: string, options?: TransportNackOptions): Promise<NackResult>
  /** Keeps a lease alive while the consumer is still working. */
  extendLease(
    messageId: string,
    agent: string,
    options?: z.input<typeof ExtendLeaseOptionsSchema>,
  ): Promise<ExtendLeaseResult>
  /**
   * A message and every delivery of it. `options.as`: the agent the caller reads as, when it knows one
   * that may see the message (its sender or a recipient) — a remote transport signs the lookup as it.
   */
  status(messageId: string, options?: { as?: string }): Promise<MessageStatus>
  /** Resolves true as soon as `agent` has a claimable message, false on timeout or abort. */
  waitForMessages(agent: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<boolean>
  /**
   * Leases for `agent` the oldest claimable reply to `requestId` (a message delivered to it with
   * `routing.replyTo` equal to that id) and nothing else, waiting up to `waitMs` for one; undefined when
   * none came. A transport without it cannot serve request/reply waits.
   */
  claimReply?(
    agent: string,
    requestId: string,
    options?: TransportClaimReplyOptions,
  ): Promise<ClaimedMessage | undefined>
  /** Releases connections, watchers and timers. */
  close(): Promise<void>
}

/** Options of {@link Transport.claimReply}. */
export interface TransportClaimReplyOptions {
  leaseSeconds?: number
  /** When no reply is waiting, wait this long for one (ms; a remote transport may cap it, e.g. 30 s). */
  waitMs?: number
  /**
   * Take only a reply sent by one of these agents (the request's recipients): another agent's message with
   * the same `replyTo` is not taken and stays in the inbox. Any sender's when absent.
   */
  from?: readonly string[]
  /**
   * With `from`, also take the reply of the operator of the store the request waits in: a relay's admin
   * (`--admin-id`), who may decide any approval request in its console under an id the requester need not
   * know. An approval wait sets it; any other wait leaves it unset, so the operator cannot answer it. A local
   * store's operator is `DEFAULT_OPERATOR_ID`, which an approval wait names in `from` already
   * (`APPROVAL_DECIDERS`): the SQLite transport has nothing to add.
   */
  operator?: boolean
  signal?: AbortSignal
}
