import type { MessageV2 } from '@agent-comm/protocol'
import { type Bridge, type BridgeContext, type BridgeResult, describeError } from './bridge.js'

/** What an in-process handler returns: reply text, a full result, or nothing (ack without a reply). */
export type HandlerOutput = string | BridgeResult | undefined | null

/** An in-process agent: an async function from a message to its answer. */
export type MessageHandler = (
  message: MessageV2,
  context: BridgeContext,
) => Promise<HandlerOutput> | HandlerOutput

/**
 * The in-process bridge: calls a function for each message, with no shell or network in between. A thrown
 * error is a retryable failure; return `{ success: false, retryable: false }` for one that is not.
 */
export class FunctionBridge implements Bridge {
  readonly name: string
  readonly #handler: MessageHandler

  constructor(handler: MessageHandler, options: { name?: string } = {}) {
    this.#handler = handler
    this.name = options.name ?? `function ${handler.name || 'anonymous'}`
  }

  async forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult> {
    try {
      const output = await this.#handler(message, context)
      if (output === undefined || output === null) return { success: true }
      if (typeof output === 'string') return { success: true, replyText: output }
      return output
    } catch (error) {
      return { success: false, error: describeError(error), retryable: true }
    }
  }

  async isAvailable(): Promise<boolean> {
    return true
  }
}
