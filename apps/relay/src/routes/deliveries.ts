import { once } from 'node:events'
import type { ClaimedMessage } from '@agent-comm/protocol'
import {
  AckResultSchema,
  AgentIdSchema,
  DEFAULT_CLAIM_LIMIT,
  EXPIRY_DECIDER,
  ExtendLeaseResultSchema,
  MessageIdSchema,
  NackResultSchema,
} from '@agent-comm/protocol'
import { claimThenWait } from '@agent-comm/spool'
import {
  AckBatchRequestSchema,
  AckBatchResponseSchema,
  AckRequestSchema,
  API_PREFIX,
  ClaimReplyRequestSchema,
  ClaimReplyResponseSchema,
  ClaimRequestSchema,
  ClaimResponseSchema,
  ExtendRequestSchema,
  NackRequestSchema,
  StreamQuerySchema,
  WaitQuerySchema,
  WaitResponseSchema,
} from '@agent-comm/transport-http'
import type { FastifyReply } from 'fastify'
import { z } from 'zod'
import { connectionSignal, openEventStream, type RelayContext, requireSelf } from '../context.js'
import { type GroupRouteDef, type RouteDef, routesOf } from '../route-table.js'

const AgentParams = z.strictObject({ agentId: AgentIdSchema })
const DeliveryParams = z.strictObject({ agentId: AgentIdSchema, messageId: MessageIdSchema })
const ReplyParams = z.strictObject({ agentId: AgentIdSchema, requestId: MessageIdSchema })

const route = routesOf({ tag: 'deliveries', auth: 'agent', prefix: API_PREFIX })

/**
 * The senders a reply claim takes: `from` as asked, and — when the requester says it waits for an approval
 * decision (`operator: true`) — this relay's operator too, who may decide any approval in its console under
 * an admin id the requester need not know. `operator: false` never takes it. A client older than the flag
 * says it waits for an approval only by naming the expiry decider in `from` (no other wait does): without
 * the flag that is still read so, so clients and relays can be upgraded one at a time.
 */
function withOperator(
  from: readonly string[] | undefined,
  operator: boolean | undefined,
  adminId: string,
): readonly string[] | undefined {
  if (from === undefined || from.includes(adminId)) return from
  const approvalWait = operator ?? from.includes(EXPIRY_DECIDER)
  return approvalWait ? [...from, adminId] : from
}

/**
 * A route on an agent's own deliveries: only the agent named by `:agentId` may call it; anyone else is
 * refused (403) before the handler runs, told it may not do `what`.
 */
function ownRoute<
  P extends z.ZodType<{ agentId: string }>,
  Q extends z.ZodType,
  B extends z.ZodType,
  R extends z.ZodType,
>(what: string, def: GroupRouteDef<P, Q, B, R>): RouteDef {
  return route({
    ...def,
    async handler(ctx) {
      requireSelf(ctx.caller, ctx.params.agentId, what)
      return def.handler(ctx)
    },
  })
}

/**
 * `POST /agents/:agentId/messages/:messageId/<verb>`: a change to one leased delivery (ack, nack, extend),
 * which only the agent itself may make; 404 without the delivery, 409 when its lease was lost.
 */
function deliveryChange<B extends z.ZodType, R extends z.ZodType>(change: {
  verb: 'ack' | 'nack' | 'extend'
  operationId: string
  summary: string
  body: B
  response: R
  apply(messageId: string, agentId: string, body: z.output<B>): Promise<z.input<R>>
}): RouteDef {
  const what = { ack: 'ack the deliveries', nack: 'nack the deliveries', extend: 'extend the leases' }[
    change.verb
  ]
  return ownRoute(what, {
    method: 'POST',
    url: `/agents/:agentId/messages/:messageId/${change.verb}`,
    operationId: change.operationId,
    summary: change.summary,
    params: DeliveryParams,
    body: change.body,
    response: change.response,
    errors: [404, 409],
    handler({ params, body }) {
      return change.apply(params.messageId, params.agentId, body)
    },
  })
}

/**
 * A long-poll claim: claims at once and, while nothing was claimed and `waitMs` lasts, waits for a wake-up
 * and claims again; another consumer may win the claim after a wake-up, so it waits again until the
 * deadline. The wait's signal (made on the first wait) aborts when the client goes or the relay shuts down.
 */
function longPoll<T>(
  reply: FastifyReply,
  shutdown: AbortSignal,
  waitMs: number,
  steps: {
    claim(): Promise<T | undefined>
    wait(timeoutMs: number, signal: AbortSignal): Promise<boolean>
  },
): Promise<T | undefined> {
  let signal: AbortSignal | undefined
  return claimThenWait(
    {
      claim: steps.claim,
      wait: (timeoutMs) => {
        signal ??= connectionSignal(reply, shutdown)
        return steps.wait(timeoutMs, signal)
      },
    },
    { timeoutMs: waitMs, waitAgain: true },
  )
}

/** Claim, wait, stream, ack, nack and extend: what an agent does with its own deliveries. */
export function deliveryRoutes(ctx: RelayContext): RouteDef[] {
  const { spool } = ctx
  return [
    ownRoute('claim the messages', {
      method: 'POST',
      url: '/agents/:agentId/claim',
      operationId: 'claim',
      summary: "Lease up to `limit` of the agent's messages, most urgent first, then oldest",
      description:
        'With `waitMs`, when nothing is waiting the request is held (long poll, at most 30 s) and answered the moment a message arrives. Only the agent itself may claim.',
      params: AgentParams,
      body: ClaimRequestSchema,
      response: ClaimResponseSchema,
      async handler({ params, body, reply }) {
        const options = { limit: body.limit, leaseSeconds: body.leaseSeconds }
        let parked = false
        const release = body.waitMs > 0 ? ctx.holdWait(params.agentId, 'claim') : undefined
        try {
          const messages = await longPoll(reply, ctx.shutdown, body.waitMs, {
            claim: async () => {
              const claimed = await spool.claim(params.agentId, options)
              return claimed.length === 0 ? undefined : claimed
            },
            wait: (timeoutMs, signal) => {
              if (!parked) ctx.metrics.longPollParked()
              parked = true
              return ctx.parked.wait(params.agentId, timeoutMs, signal)
            },
          })
          return { messages: messages ?? [] }
        } finally {
          if (parked) ctx.metrics.longPollEnded()
          release?.()
        }
      },
    }),
    ownRoute('claim the replies', {
      method: 'POST',
      url: '/agents/:agentId/replies/:requestId/claim',
      operationId: 'claimReply',
      summary:
        'Lease the oldest reply to one request (a message with `routing.replyTo` = requestId) and nothing else',
      description:
        "The agent's other messages, replies to its other requests included, are left queued. With `from`, only a reply sent by one of those agents is taken (another agent's message with the same `replyTo` stays queued); with `operator: true` as well (what an approval wait sends), the decision of this relay's operator (its admin id) is taken too — as it is, for clients older than the flag, when `operator` is left out and `from` names `system:expiry`; `operator: false` never takes it. With `waitMs`, when no reply is waiting the request is held (at most 30 s) and answered the moment one arrives; `message` is null when none came. Only the agent itself may claim.",
      params: ReplyParams,
      body: ClaimReplyRequestSchema,
      response: ClaimReplyResponseSchema,
      async handler({ params, body, reply }) {
        const from = withOperator(body.from, body.operator, ctx.settings.adminId)
        const release = body.waitMs > 0 ? ctx.holdWait(params.agentId, 'claimReply') : undefined
        try {
          const message = await longPoll(reply, ctx.shutdown, body.waitMs, {
            claim: () =>
              spool.claimReply(params.agentId, params.requestId, { leaseSeconds: body.leaseSeconds, from }),
            wait: (timeoutMs, signal) =>
              spool.waitForReply(params.agentId, params.requestId, { timeoutMs, signal, from }),
          })
          return { message: message ?? null }
        } finally {
          release?.()
        }
      },
    }),
    ownRoute('wait for the messages', {
      method: 'GET',
      url: '/agents/:agentId/wait',
      operationId: 'wait',
      summary:
        'Whether the agent has a claimable message, waiting up to `timeoutMs` for one (claims nothing)',
      params: AgentParams,
      query: WaitQuerySchema,
      response: WaitResponseSchema,
      async handler({ params, query, reply }) {
        const timeoutMs = query.timeoutMs ?? 0
        const release = timeoutMs > 0 ? ctx.holdWait(params.agentId, 'wait') : undefined
        try {
          const signal = timeoutMs > 0 ? connectionSignal(reply, ctx.shutdown) : undefined
          const available = await spool.waitForMessages(params.agentId, { timeoutMs, signal })
          return { available }
        } finally {
          release?.()
        }
      },
    }),
    ownRoute('stream the messages', {
      method: 'GET',
      url: '/agents/:agentId/stream',
      operationId: 'stream',
      summary: "Server-sent events: the agent's messages, claimed and leased as they arrive, in claim order",
      description:
        'Each `message` event is a ClaimedMessage; ack it as usual. A message claimed but not acked before its lease runs out (e.g. the stream broke) is delivered again; one claimed but not yet written when the stream closed is handed back at once, its attempt not counted.',
      params: AgentParams,
      query: StreamQuerySchema,
      stream: true,
      async handler({ params, query, request, reply }) {
        const options = { limit: query.limit ?? DEFAULT_CLAIM_LIMIT, leaseSeconds: query.leaseSeconds }
        // Taken before the stream opens: refused, the agent gets a plain 429 rather than an event.
        const release = ctx.holdWait(params.agentId, 'stream')
        const { res, signal, end } = openEventStream(request, reply, ctx.shutdown, release)
        ctx.metrics.streamOpened()
        const send = async (claimed: ClaimedMessage): Promise<void> => {
          const event = `id: ${claimed.message.id}\nevent: message\ndata: ${JSON.stringify(claimed)}\n\n`
          if (!res.write(event)) await once(res, 'drain', { signal })
        }
        try {
          while (!signal.aborted) {
            const batch = await spool.claim(params.agentId, options)
            let next = 0
            try {
              while (next < batch.length) await send(batch[next++]!)
            } finally {
              // The stream closed before these were written: they go back to the queue at once, with
              // the attempt their claim counted given back. One written (even if it waited to drain)
              // may have arrived and keeps its lease.
              for (const unsent of batch.slice(next)) {
                await spool
                  .nack(unsent.message.id, params.agentId, { receipt: unsent.lease.receipt, handBack: true })
                  .catch(() => {})
              }
            }
            if (batch.length === 0) {
              const found = await ctx.parked.wait(params.agentId, ctx.settings.streamKeepAliveMs, signal)
              if (!found && !signal.aborted) res.write(': keep-alive\n\n')
            }
          }
        } catch (error) {
          if (!signal.aborted) {
            request.log.error({ err: error, agentId: params.agentId }, 'event stream failed')
            res.write(
              `event: error\ndata: ${JSON.stringify({ error: { code: 'INTERNAL', message: 'The stream failed; reconnect' } })}\n\n`,
            )
          }
        } finally {
          ctx.metrics.streamClosed()
          release()
          end()
        }
        return undefined
      },
    }),
    deliveryChange({
      verb: 'ack',
      operationId: 'ack',
      summary: 'Mark a leased delivery done (a second ack is a no-op reported as alreadyAcked)',
      body: AckRequestSchema,
      response: AckResultSchema,
      apply: (messageId, agentId, body) => spool.ack(messageId, agentId, body),
    }),
    ownRoute('ack the deliveries', {
      method: 'POST',
      url: '/agents/:agentId/ack',
      operationId: 'ackBatch',
      summary: 'Ack many deliveries in one transaction; refused as a whole if any ack is',
      params: AgentParams,
      body: AckBatchRequestSchema,
      response: AckBatchResponseSchema,
      errors: [404, 409],
      async handler({ params, body }) {
        const results = await spool.ackBatch(
          body.items.map((item) => ({
            messageId: item.messageId,
            agent: params.agentId,
            receipt: item.receipt,
          })),
        )
        return { results }
      },
    }),
    deliveryChange({
      verb: 'nack',
      operationId: 'nack',
      summary:
        'Give a leased delivery back for a retry, or dead-letter it (out of attempts, or `deadLetter`)',
      body: NackRequestSchema,
      response: NackResultSchema,
      apply: (messageId, agentId, body) => spool.nack(messageId, agentId, body),
    }),
    deliveryChange({
      verb: 'extend',
      operationId: 'extendLease',
      summary: 'Push a lease out to `leaseSeconds` from now while the agent is still working',
      body: ExtendRequestSchema,
      response: ExtendLeaseResultSchema,
      apply: (messageId, agentId, body) => spool.extendLease(messageId, agentId, body),
    }),
  ]
}
