import type {
  AckResult,
  ClaimedMessage,
  ExtendLeaseResult,
  MessageStatus,
  MessageV2,
  NackResult,
  SendResult,
  Transport,
  TransportClaimOptions,
  TransportSendOptions,
} from '@agent-comm/protocol'
import { ClosedError } from '@agent-comm/protocol'

/**
 * A transport built on first use. The coordinator asks for a transport synchronously, but the one for
 * `http` agents lives in a chunk of the runtime bundle that is loaded only when a command actually
 * reaches such an agent (undici alone would add to every `send`); this stands in for it until then.
 * Closing it before any call closes nothing and loads nothing.
 */
export class DeferredTransport implements Transport {
  readonly kind: Transport['kind']
  readonly #build: () => Promise<Transport>
  #transport: Promise<Transport> | undefined
  #closed = false

  constructor(kind: Transport['kind'], build: () => Promise<Transport>) {
    this.kind = kind
    this.#build = build
  }

  send(message: MessageV2, options?: TransportSendOptions): Promise<SendResult> {
    return this.#use((t) => t.send(message, options))
  }

  claim(agent: string, options?: TransportClaimOptions): Promise<ClaimedMessage[]> {
    return this.#use((t) => t.claim(agent, options))
  }

  ack(messageId: string, agent: string, options?: { receipt?: string }): Promise<AckResult> {
    return this.#use((t) => t.ack(messageId, agent, options))
  }

  nack(
    messageId: string,
    agent: string,
    options?: { reason?: string; receipt?: string; delaySeconds?: number; deadLetter?: boolean },
  ): Promise<NackResult> {
    return this.#use((t) => t.nack(messageId, agent, options))
  }

  extendLease(
    messageId: string,
    agent: string,
    options?: { receipt?: string; leaseSeconds?: number },
  ): Promise<ExtendLeaseResult> {
    return this.#use((t) => t.extendLease(messageId, agent, options))
  }

  status(messageId: string): Promise<MessageStatus> {
    return this.#use((t) => t.status(messageId))
  }

  waitForMessages(agent: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false)
    return this.#use((t) => t.waitForMessages(agent, options))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const pending = this.#transport
    if (pending === undefined) return
    // A transport whose construction failed has nothing to close; its error was reported to the caller.
    const transport = await pending.catch(() => undefined)
    await transport?.close()
  }

  /** Builds the transport on the first call (once, also under concurrent calls), then runs `call` on it. */
  async #use<T>(call: (transport: Transport) => Promise<T>): Promise<T> {
    if (this.#transport === undefined) {
      // As every transport after close(), without loading the real one first.
      if (this.#closed) throw new ClosedError(`This ${this.kind} transport`)
      this.#transport = this.#build()
    }
    return call(await this.#transport)
  }
}
