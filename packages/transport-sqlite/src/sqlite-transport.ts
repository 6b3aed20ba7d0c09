import type * as Proto from '@agent-comm/protocol'
import { claimThenWait, Spool, type SpoolOptions } from '@agent-comm/spool'

/** Options of {@link SqliteTransport}. */
export interface SqliteTransportOptions {
  /** Close the spool when the transport closes (true when the transport opened it itself). */
  closeSpool?: boolean
}

/**
 * The local transport: agents on one machine exchange messages through a spool on a shared SQLite file.
 * A thin adapter — the spool already has the delivery semantics every transport promises.
 */
export class SqliteTransport implements Proto.Transport {
  readonly kind = 'sqlite' as const
  readonly spool: Spool
  readonly #closeSpool: boolean

  /** Wraps an open spool; it stays open after {@link close} unless `closeSpool` is set. */
  constructor(spool: Spool, options: SqliteTransportOptions = {}) {
    this.spool = spool
    this.#closeSpool = options.closeSpool ?? false
  }

  /** Opens a spool at `options.path` and a transport that owns it. */
  static async open(options: SpoolOptions): Promise<SqliteTransport> {
    return new SqliteTransport(await Spool.open(options), { closeSpool: true })
  }

  send(message: Proto.MessageV2, options: Proto.TransportSendOptions = {}): Promise<Proto.SendResult> {
    return this.spool.send(message, options)
  }

  claim(agent: string, options: Proto.TransportClaimOptions = {}): Promise<Proto.ClaimedMessage[]> {
    return this.spool.claim(agent, options)
  }

  /** The reply to `requestId` for `agent`, waiting up to `waitMs` for it (see `Proto.Transport.claimReply`). */
  async claimReply(
    agent: string,
    requestId: string,
    options: Proto.TransportClaimReplyOptions = {},
  ): Promise<Proto.ClaimedMessage | undefined> {
    return claimThenWait(
      {
        claim: () =>
          this.spool.claimReply(agent, requestId, { leaseSeconds: options.leaseSeconds, from: options.from }),
        wait: (timeoutMs, signal) =>
          this.spool.waitForReply(agent, requestId, { timeoutMs, signal, from: options.from }),
      },
      { timeoutMs: options.waitMs ?? 0, signal: options.signal },
    )
  }

  /** Acks and claims in one transaction of the spool (see `Spool.ackAndClaim`). */
  ackAndClaim(
    acks: ReadonlyArray<{ messageId: string; agent: string; receipt?: string }>,
    agent: string,
    options: Proto.TransportClaimOptions = {},
  ): Promise<Proto.ClaimedMessage[]> {
    return this.spool.ackAndClaim(acks, agent, options)
  }

  ack(messageId: string, agent: string, options: { receipt?: string } = {}): Promise<Proto.AckResult> {
    return this.spool.ack(messageId, agent, options)
  }

  nack(
    messageId: string,
    agent: string,
    options: Proto.TransportNackOptions = {},
  ): Promise<Proto.NackResult> {
    return this.spool.nack(messageId, agent, options)
  }

  extendLease(
    messageId: string,
    agent: string,
    options: { receipt?: string; leaseSeconds?: number } = {},
  ): Promise<Proto.ExtendLeaseResult> {
    return this.spool.extendLease(messageId, agent, options)
  }

  status(messageId: string): Promise<Proto.MessageStatus> {
    return this.spool.status(messageId)
  }

  waitForMessages(
    agent: string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    return this.spool.waitForMessages(agent, options)
  }

  async close(): Promise<void> {
    if (this.#closeSpool) await this.spool.close()
  }
}
