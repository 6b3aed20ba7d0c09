import type { AckResult, ClaimedMessage, ExtendLeaseResult, Logger, NackResult } from '@agent-comm/protocol'
import {
  AckResultSchema,
  DEFAULT_CLAIM_LIMIT,
  ExtendLeaseResultSchema,
  errorMessage,
  NackResultSchema,
} from '@agent-comm/protocol'
import { z } from 'zod'
import { AckBatchResponseSchema, ApiPath, MAX_CLAIM_LIMIT, MAX_WAIT_MS, WaitResponseSchema } from '../api.js'
import { type CoalescedCall as Coalesced, Coalescer, type Outcome, settle } from '../coalesce.js'
import { isItemError } from '../errors.js'
import type { RequestPipeline, RequestSpec } from '../request-pipeline.js'
import type { ServerSentEvent } from '../sse.js'
import {
  ClaimEnvelopeSchema,
  type ReadDelivery,
  readDelivery,
  readDeliveryText,
  type UnreadableDelivery,
} from '../unreadable-deliveries.js'
import type {
  CallOptions,
  ClaimOptions,
  ClaimReplyOptions,
  ExtendOptions,
  NackOptions,
} from './call-options.js'

/** A reply claim's response, its message read apart (see `readDelivery`). */
const ClaimReplyEnvelopeSchema = z.object({ message: z.unknown() })

type AckInput = { messageId: string; receipt?: string }
type ClaimInput = { agent: string; limit: number; leaseSeconds?: number }
type ClaimBody = { limit?: number; leaseSeconds?: number; waitMs?: number }

/**
 * A claim, as `agent`: not idempotent (a claim that reached the relay leased its messages), held by the
 * relay up to the body's `waitMs`, and asked again with what is left of that wait when the relay refuses it
 * for want of a wait slot.
 */
function claimRequest<S extends z.ZodType>(
  path: string,
  agent: string,
  body: { waitMs?: number },
  schema: S,
  signal: AbortSignal | undefined,
): RequestSpec<S> {
  return {
    method: 'POST',
    path,
    as: agent,
    body,
    idempotent: false,
    schema,
    signal,
    holdMs: body.waitMs ?? 0,
    rehold: (waitMs) => ({ body: { ...body, waitMs } }),
  }
}

/**
 * What an agent does with its own deliveries (the relay's `deliveries` routes): claim, wait, stream, ack,
 * nack and extend, with concurrent claims and acks of one agent coalesced. See `RelayClient` for each.
 */
export class DeliveryEndpoints {
  readonly #pipeline: RequestPipeline
  readonly #logger: Logger
  readonly #claims: Coalescer<ClaimInput, ClaimedMessage[]> | undefined
  readonly #acks: Coalescer<AckInput & { agent: string }, AckResult> | undefined

  constructor(pipeline: RequestPipeline, options: { coalesce: boolean; logger: Logger }) {
    this.#pipeline = pipeline
    this.#logger = options.logger
    this.#claims = options.coalesce
      ? new Coalescer({
          maxWeight: MAX_CLAIM_LIMIT,
          weight: (input) => input.limit,
          flush: (_key, calls) => this.#flushClaims(calls),
        })
      : undefined
    this.#acks = options.coalesce
      ? new Coalescer({ maxWeight: 100, flush: (_agent, calls) => this.#flushAcks(calls) })
      : undefined
  }

  async claim(agent: string, options: ClaimOptions = {}): Promise<ClaimedMessage[]> {
    const { signal, ...body } = options
    const limit = body.limit ?? DEFAULT_CLAIM_LIMIT
    const shareable =
      this.#claims !== undefined &&
      (body.waitMs === undefined || body.waitMs === 0) &&
      Number.isInteger(limit) &&
      limit >= 1 &&
      limit <= MAX_CLAIM_LIMIT
    if (!shareable || this.#claims === undefined) return this.#claimOne(agent, body, signal)
    this.#pipeline.ensureOpen()
    const input = { agent, limit, leaseSeconds: body.leaseSeconds }
    return this.#claims.add(`${agent}\n${body.leaseSeconds ?? ''}`, input, signal)
  }

  async claimReply(
    agent: string,
    requestId: string,
    options: ClaimReplyOptions = {},
  ): Promise<ClaimedMessage | undefined> {
    const { signal, ...body } = options
    const response = await this.#pipeline.call(
      claimRequest(ApiPath.claimReply(agent, requestId), agent, body, ClaimReplyEnvelopeSchema, signal),
    )
    if (response.message === null) return undefined
    const read = readDelivery(response.message)
    if (read.ok) return read.claimed
    await this.#deadLetterUnreadable(agent, read.unreadable)
    return undefined
  }

  async #claimOne(
    agent: string,
    body: ClaimBody,
    signal: AbortSignal | undefined,
  ): Promise<ClaimedMessage[]> {
    const response = await this.#pipeline.call(
      claimRequest(ApiPath.claim(agent), agent, body, ClaimEnvelopeSchema, signal),
    )
    const claimed: ClaimedMessage[] = []
    const setAside: Promise<void>[] = []
    for (const raw of response.messages) {
      const read = readDelivery(raw)
      if (read.ok) claimed.push(read.claimed)
      else setAside.push(this.#deadLetterUnreadable(agent, read.unreadable))
    }
    await Promise.all(setAside)
    return claimed
  }

  /**
   * Dead-letters a claimed delivery this client cannot read, so it neither fails the claim nor comes back:
   * a retry would read the same bytes. Never throws: a delivery that cannot be given back (no readable id,
   * the relay unreachable) is reported and returns when its lease runs out, until its attempts are used up.
   */
  async #deadLetterUnreadable(agent: string, delivery: UnreadableDelivery): Promise<void> {
    const { messageId, receipt, reason } = delivery
    const fields = { agentId: agent, messageId, reason }
    if (messageId === undefined) {
      this.#logger.error(
        fields,
        'a claimed delivery cannot be read, nor its message id: it returns when its lease runs out',
      )
      return
    }
    try {
      await this.nack(messageId, agent, {
        deadLetter: true,
        reason: `The recipient's client cannot read this message: ${reason}`,
        receipt,
      })
      this.#logger.warn(fields, 'dead-lettered a claimed delivery this client cannot read')
    } catch (error) {
      this.#logger.error(
        { ...fields, error: errorMessage(error) },
        'could not dead-letter a claimed delivery this client cannot read: it returns when its lease runs out',
      )
    }
  }

  /** Concurrent claims of one agent: one claim of all their limits, shared out in claim order. */
  async #flushClaims(calls: Coalesced<ClaimInput>[]): Promise<Outcome<ClaimedMessage[]>[]> {
    const first = (calls[0] as (typeof calls)[number]).input
    const limit = calls.reduce((sum, call) => sum + call.input.limit, 0)
    const body = { limit, leaseSeconds: first.leaseSeconds }
    const messages = await this.#claimOne(
      first.agent,
      body,
      calls.length === 1 ? calls[0]?.signal : undefined,
    )
    let next = 0
    return calls.map((call) => {
      const share = messages.slice(next, next + call.input.limit)
      next += call.input.limit
      return { ok: true, value: share }
    })
  }

  async wait(agent: string, options: { timeoutMs?: number } & CallOptions = {}): Promise<boolean> {
    const timeoutMs = Math.min(Math.max(0, Math.floor(options.timeoutMs ?? 0)), MAX_WAIT_MS)
    const response = await this.#pipeline.call({
      method: 'GET',
      path: ApiPath.wait(agent),
      query: { timeoutMs },
      as: agent,
      idempotent: false,
      schema: WaitResponseSchema,
      signal: options.signal,
      holdMs: timeoutMs,
      rehold: (ms) => ({ query: { timeoutMs: ms } }),
    })
    return response.available
  }

  async ack(
    messageId: string,
    agent: string,
    options: { receipt?: string } & CallOptions = {},
  ): Promise<AckResult> {
    const { signal, ...body } = options
    if (this.#acks === undefined) return this.#ackOne(agent, { messageId, ...body }, signal)
    this.#pipeline.ensureOpen()
    return this.#acks.add(agent, { agent, messageId, ...body }, signal)
  }

  #ackOne(agent: string, item: AckInput, signal: AbortSignal | undefined): Promise<AckResult> {
    const { messageId, ...body } = item
    return this.#pipeline.call({
      method: 'POST',
      path: ApiPath.ack(agent, messageId),
      as: agent,
      body,
      idempotent: true,
      schema: AckResultSchema,
      signal,
    })
  }

  /** Concurrent acks of one agent: one batch ack; refused as a whole, they are sent one by one. */
  async #flushAcks(calls: Coalesced<AckInput & { agent: string }>[]): Promise<Outcome<AckResult>[]> {
    const one = ({ input: { agent, ...item }, signal }: (typeof calls)[number]) =>
      settle(this.#ackOne(agent, item, signal))
    if (calls.length === 1) return [await one(calls[0] as (typeof calls)[number])]
    const agent = (calls[0] as (typeof calls)[number]).input.agent
    let results: AckResult[]
    try {
      results = await this.#postAckBatch(
        agent,
        calls.map(({ input: { agent: _agent, ...item } }) => item),
      )
    } catch (error) {
      if (isItemError(error)) return Promise.all(calls.map(one))
      throw error
    }
    return calls.map((_call, i) => {
      const result = results[i]
      return result === undefined
        ? { ok: false, error: new Error('No result for an ack') }
        : { ok: true, value: result }
    })
  }

  async #postAckBatch(agent: string, items: readonly AckInput[], signal?: AbortSignal): Promise<AckResult[]> {
    const response = await this.#pipeline.call({
      method: 'POST',
      path: ApiPath.ackBatch(agent),
      as: agent,
      body: { items },
      idempotent: true,
      schema: AckBatchResponseSchema,
      signal,
    })
    return response.results
  }

  async ackBatch(
    agent: string,
    items: ReadonlyArray<{ messageId: string; receipt?: string }>,
    options: CallOptions = {},
  ): Promise<AckResult[]> {
    if (items.length === 0) return []
    return this.#postAckBatch(agent, items, options.signal)
  }

  nack(messageId: string, agent: string, options: NackOptions = {}): Promise<NackResult> {
    return this.#change('nack', messageId, agent, options, NackResultSchema, false)
  }

  extendLease(messageId: string, agent: string, options: ExtendOptions = {}): Promise<ExtendLeaseResult> {
    return this.#change('extend', messageId, agent, options, ExtendLeaseResultSchema, true)
  }

  /** A nack or an extend of one leased delivery, signed as `agent`. */
  #change<S extends z.ZodType, O extends CallOptions>(
    verb: 'nack' | 'extend',
    messageId: string,
    agent: string,
    options: O,
    schema: S,
    idempotent: boolean,
  ): Promise<z.output<S>> {
    const { signal, ...body } = options
    const path = verb === 'nack' ? ApiPath.nack(agent, messageId) : ApiPath.extend(agent, messageId)
    return this.#pipeline.call({ method: 'POST', path, as: agent, body, idempotent, schema, signal })
  }

  async *stream(
    agent: string,
    options: { leaseSeconds?: number; limit?: number } & CallOptions = {},
  ): AsyncGenerator<ClaimedMessage, void, undefined> {
    const query = { leaseSeconds: options.leaseSeconds, limit: options.limit }
    let unread: ServerSentEvent[] = []
    const events = this.#pipeline.events(agent, ApiPath.stream(agent), query, options.signal, (rest) => {
      unread = rest
    })
    try {
      for await (const event of events) {
        if (event.event !== 'message') continue
        const read: ReadDelivery = readDeliveryText(event.data, event.id)
        if (read.ok) yield read.claimed
        else await this.#deadLetterUnreadable(agent, read.unreadable)
      }
    } finally {
      // The reader stopped (or the signal aborted) with deliveries that had arrived but were never yielded:
      // handed back at once, their attempts given back, instead of waiting out their leases.
      for (const event of this.#pipeline.closed ? [] : unread) {
        if (event.event === 'message')
          await this.#handBackUnread(agent, readDeliveryText(event.data, event.id))
      }
    }
  }

  /** Hands back an arrived delivery the reader never saw; an unreadable one is dead-lettered as ever. */
  async #handBackUnread(agent: string, read: ReadDelivery): Promise<void> {
    if (!read.ok) return this.#deadLetterUnreadable(agent, read.unreadable)
    const { message, lease } = read.claimed
    try {
      await this.nack(message.id, agent, { handBack: true, receipt: lease.receipt })
    } catch (error) {
      this.#logger.warn(
        {
          agentId: agent,
          messageId: message.id,
          error: errorMessage(error),
        },
        'could not hand back a streamed delivery the reader never saw: it returns when its lease runs out',
      )
    }
  }
}
