import { ClosedError, type Transport } from '@agent-comm/protocol'

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

  /**
   * Claims the one reply to a request, when the transport it stands for can (`claimsReplies`): the
   * coordinator reads its presence as whether a requester on this transport can wait for a reply, before
   * the real transport is built.
   */
  readonly claimReply?: Transport['claimReply']

  constructor(
    kind: Transport['kind'],
    build: () => Promise<Transport>,
    options: { claimsReplies?: boolean } = {},
  ) {
    this.kind = kind
    this.#build = build
    if (options.claimsReplies === true) {
      this.claimReply = (...args) =>
        this.#use((t) => (t.claimReply as NonNullable<Transport['claimReply']>).call(t, ...args))
    }
  }

  // Each method takes its signature from the contract and forwards to the transport, built on first use.
  readonly send: Transport['send'] = (...args) => this.#use((t) => t.send(...args))
  readonly claim: Transport['claim'] = (...args) => this.#use((t) => t.claim(...args))
  readonly ack: Transport['ack'] = (...args) => this.#use((t) => t.ack(...args))
  readonly nack: Transport['nack'] = (...args) => this.#use((t) => t.nack(...args))
  readonly extendLease: Transport['extendLease'] = (...args) => this.#use((t) => t.extendLease(...args))
  readonly status: Transport['status'] = (...args) => this.#use((t) => t.status(...args))
  readonly waitForMessages: Transport['waitForMessages'] = (...args) =>
    this.#closed ? Promise.resolve(false) : this.#use((t) => t.waitForMessages(...args))

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
