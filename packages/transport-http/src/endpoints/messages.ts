import type { MessageStatus, MessageV2, SendResult } from '@agent-comm/protocol'
import { MessageStatusSchema, SendResultSchema, traceMetadataOf, ValidationError } from '@agent-comm/protocol'
import {
  ApiPath,
  ConversationResponseSchema,
  ConversationsResponseSchema,
  SendBatchResponseSchema,
  type SendRequest,
  type SendSummary,
} from '../api.js'
import { type CoalescedCall as Coalesced, Coalescer, type Outcome, settle } from '../coalesce.js'
import { isItemError } from '../errors.js'
import type { RequestPipeline } from '../request-pipeline.js'
import type { AsAgentOptions, BatchItem, CallOptions, RelayConversation } from './call-options.js'

/** Sending, message status and threads (the relay's `messages` routes); see `RelayClient` for each. */
export class MessageEndpoints {
  readonly #pipeline: RequestPipeline
  readonly #sends: Coalescer<BatchItem, SendResult> | undefined

  constructor(pipeline: RequestPipeline, coalesce: boolean) {
    this.#pipeline = pipeline
    this.#sends = coalesce
      ? new Coalescer({ maxWeight: 100, flush: (_agent, calls) => this.#flushSends(calls) })
      : undefined
  }

  async send(
    message: MessageV2,
    options: Omit<SendRequest, 'message'> & CallOptions = {},
  ): Promise<SendResult> {
    const { signal, ...rest } = options
    const item: BatchItem = { message, ...rest }
    if (this.#sends === undefined) return this.#sendOne(item, signal)
    this.#pipeline.ensureOpen()
    return this.#sends.add(message.fromAgent, item, signal)
  }

  #sendOne(item: BatchItem, signal: AbortSignal | undefined): Promise<SendResult> {
    return this.#pipeline.call({
      method: 'POST',
      path: ApiPath.messages,
      as: item.message.fromAgent,
      body: item,
      idempotent: true,
      trace: traceMetadataOf(item.message.metadata),
      schema: SendResultSchema,
      signal,
    })
  }

  /** Concurrent sends of one agent: one batch request; a duplicate is asked again for the stored message. */
  async #flushSends(calls: Coalesced<BatchItem>[]): Promise<Outcome<SendResult>[]> {
    const one = (call: Coalesced<BatchItem>) => settle(this.#sendOne(call.input, call.signal))
    if (calls.length === 1) return [await one(calls[0] as Coalesced<BatchItem>)]
    let summaries: SendSummary[]
    try {
      summaries = await this.#postSendBatch(calls.map((call) => call.input))
    } catch (error) {
      if (isItemError(error)) return Promise.all(calls.map(one))
      throw error
    }
    return Promise.all(
      calls.map((call, i) => {
        const summary = summaries[i]
        if (summary === undefined || summary.duplicate) return one(call)
        return settle(Promise.resolve(SendResultSchema.parse({ ...summary, message: call.input.message })))
      }),
    )
  }

  async #postSendBatch(items: readonly BatchItem[], signal?: AbortSignal): Promise<SendSummary[]> {
    const response = await this.#pipeline.call({
      method: 'POST',
      path: ApiPath.messagesBatch,
      as: (items[0] as BatchItem).message.fromAgent,
      body: { items },
      idempotent: true,
      schema: SendBatchResponseSchema,
      signal,
    })
    return response.results
  }

  async sendBatch(items: readonly BatchItem[], options: CallOptions = {}): Promise<SendSummary[]> {
    const from = items[0]?.message.fromAgent
    if (from === undefined) return []
    const stranger = items.findIndex((item) => item.message.fromAgent !== from)
    if (stranger >= 0) {
      throw new ValidationError(`Invalid batch: every message must come from '${from}'`, [
        {
          path: `items.${stranger}.message.fromAgent`,
          message: `must be '${from}', the agent signing the batch`,
        },
      ])
    }
    return this.#postSendBatch(items, options.signal)
  }

  status(messageId: string, options: AsAgentOptions): Promise<MessageStatus> {
    return this.#pipeline.read(ApiPath.message(messageId), options.as, MessageStatusSchema, options)
  }

  async conversations(options: AsAgentOptions & { limit?: number }): Promise<RelayConversation[]> {
    const { as, signal, limit } = options
    const query = { limit }
    return (
      await this.#pipeline.read(ApiPath.conversations, as, ConversationsResponseSchema, { query, signal })
    ).conversations
  }

  async conversation(conversationId: string, options: AsAgentOptions): Promise<MessageV2[]> {
    const path = ApiPath.conversation(conversationId)
    return (await this.#pipeline.read(path, options.as, ConversationResponseSchema, options)).messages
  }
}
