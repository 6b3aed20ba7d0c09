import type * as Proto from '@agent-comm/protocol'
import { ClosedError, ConfigError, isAgentCommError, MessageNotFoundError } from '@agent-comm/protocol'
import { MAX_WAIT_MS } from './api.js'
import { RelayClient, type RelayClientOptions } from './relay-client.js'

/** Options of {@link HttpTransport}: a client to use, or what to build one from. */
export type HttpTransportOptions = (RelayClientOptions | { client: RelayClient }) & {
  /**
   * The agent whose secret signs `status()`, which names no agent (the relay shows a message to its sender,
   * its recipients and the admin). Without it, status is asked as each agent this transport has sent or
   * claimed for, most recent first.
   */
  identity?: string | undefined
}

/** How many recently used agents `status()` tries when no identity is configured. */
const RECENT_AGENTS = 8

/**
 * The `http` transport: reaches agents whose messages live on a remote agent-comm relay. Sends are signed
 * with the sender's secret; claims, acks, nacks, lease extensions and waits with the polling agent's.
 * `waitForMessages` long-polls the relay (30 s at a time), so it returns as soon as a message arrives.
 * Same delivery semantics as the local transports — the relay runs the same spool — proven by the shared
 * contract suite.
 */
export class HttpTransport implements Proto.Transport {
  readonly kind = 'http' as const
  readonly client: RelayClient
  readonly #ownsClient: boolean
  readonly #identity: string | undefined
  readonly #closing = new AbortController()
  readonly #recent: string[] = []
  #closed = false

  constructor(options: HttpTransportOptions) {
    if ('client' in options) {
      this.client = options.client
      this.#ownsClient = false
    } else {
      this.client = new RelayClient(options)
      this.#ownsClient = true
    }
    this.#identity = options.identity
  }

  async send(message: Proto.MessageV2, options: Proto.TransportSendOptions = {}): Promise<Proto.SendResult> {
    this.#open()
    this.#used(message.fromAgent)
    return this.client.send(message, {
      recipients: options.recipients === undefined ? undefined : [...options.recipients],
      delaySeconds: options.delaySeconds,
      maxAttempts: options.maxAttempts,
      idempotencyKey: options.idempotencyKey,
      signal: this.#closing.signal,
    })
  }

  async claim(agent: string, options: Proto.TransportClaimOptions = {}): Promise<Proto.ClaimedMessage[]> {
    this.#open()
    this.#used(agent)
    return this.client.claim(agent, { ...options, signal: this.#closing.signal })
  }

  /** The reply to `requestId` for `agent`, the relay waiting up to `waitMs` (capped at 30 s) for it. */
  async claimReply(
    agent: string,
    requestId: string,
    options: Proto.TransportClaimReplyOptions = {},
  ): Promise<Proto.ClaimedMessage | undefined> {
    this.#open()
    this.#used(agent)
    const signal =
      options.signal === undefined
        ? this.#closing.signal
        : AbortSignal.any([options.signal, this.#closing.signal])
    return this.client.claimReply(agent, requestId, {
      leaseSeconds: options.leaseSeconds,
      from: options.from,
      operator: options.operator,
      waitMs:
        options.waitMs === undefined
          ? undefined
          : Math.min(Math.max(0, Math.round(options.waitMs)), MAX_WAIT_MS),
      signal,
    })
  }

  async ack(messageId: string, agent: string, options: { receipt?: string } = {}): Promise<Proto.AckResult> {
    this.#open()
    return this.client.ack(messageId, agent, { ...options, signal: this.#closing.signal })
  }

  async nack(
    ...[messageId, agent, options = {}]: Parameters<Proto.Transport['nack']>
  ): Promise<Proto.NackResult> {
    this.#open()
    return this.client.nack(messageId, agent, { ...options, signal: this.#closing.signal })
  }

  async extendLease(
    ...[messageId, agent, options = {}]: Parameters<Proto.Transport['extendLease']>
  ): Promise<Proto.ExtendLeaseResult> {
    this.#open()
    return this.client.extendLease(messageId, agent, { ...options, signal: this.#closing.signal })
  }

  async status(messageId: string, options: { as?: string } = {}): Promise<Proto.MessageStatus> {
    this.#open()
    // The identity given, else the agent the caller reads as, then the agents this transport acted for.
    const candidates =
      this.#identity !== undefined
        ? [this.#identity]
        : options.as === undefined
          ? [...this.#recent]
          : [options.as, ...this.#recent.filter((agent) => agent !== options.as)]
    if (candidates.length === 0) {
      throw new ConfigError('The HTTP transport cannot read a status before it knows whom to sign as', {
        hint: 'Pass identity (an agent id, or the relay admin id) to HttpTransport.',
      })
    }
    for (const as of candidates) {
      try {
        return await this.client.status(messageId, { as, signal: this.#closing.signal })
      } catch (error) {
        if (!isAgentCommError(error, 'MESSAGE_NOT_FOUND')) throw error
      }
    }
    throw new MessageNotFoundError(messageId)
  }

  async waitForMessages(
    agent: string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    if (this.#closed || options.signal?.aborted) return false
    const signal =
      options.signal === undefined
        ? this.#closing.signal
        : AbortSignal.any([this.#closing.signal, options.signal])
    // Real time, not the injected clock: this is how long the caller is willing to block.
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs
    try {
      for (;;) {
        const remaining = Math.max(0, deadline - Date.now())
        if (await this.client.wait(agent, { timeoutMs: Math.min(remaining, MAX_WAIT_MS), signal }))
          return true
        if (remaining <= MAX_WAIT_MS || Date.now() >= deadline) return false
      }
    } catch (error) {
      if (signal.aborted) return false
      throw error
    }
  }

  /** Aborts pending calls (waits resolve `false`) and closes the client if this transport made it. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#closing.abort(new ClosedError('This HTTP transport'))
    if (this.#ownsClient) await this.client.close()
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('This HTTP transport')
  }

  /** Remembers the agents this transport acts for, to sign `status()` with when no identity was given. */
  #used(agent: string): void {
    if (this.#identity !== undefined || this.#recent[0] === agent) return
    const at = this.#recent.indexOf(agent)
    if (at >= 0) this.#recent.splice(at, 1)
    this.#recent.unshift(agent)
    if (this.#recent.length > RECENT_AGENTS) this.#recent.pop()
  }
}
