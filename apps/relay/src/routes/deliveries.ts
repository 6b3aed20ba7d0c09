import { once } from 'node:events'
import type { ClaimedMessage } from '@agent-comm/protocol'
import {
  AckResultSchema,
  AgentIdSchema,
  DEFAULT_CLAIM_LIMIT,
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
import { z } from 'zod'
import { connectionSignal, type RelayContext, requireSelf } from '../context.js'
import { type RouteDef, route } from '../route-table.js'

const AgentParams = z.strictObject({ agentId: AgentIdSchema })
const DeliveryParams = z.strictObject({ agentId: AgentIdSchema, messageId: MessageIdSchema })
const ReplyParams = z.strictObject({ agentId: AgentIdSchema, requestId: MessageIdSchema })

/** Claim, wait, stream, ack, nack and extend: what an agent does with its own deliveries. */
export function deliveryRoutes(ctx: RelayContext): RouteDef[] {
  const { spool } = ctx
  return [
    route({
      method: 'POST',
      url: `${API_PREFIX}/agents/:agentId/claim`,
      operationId: 'claim',
      summary: "Lease up to `limit` of the agent's messages, most urgent first, then oldest",
      description:
        'With `waitMs`, when nothing is waiting the request is held (long poll, at most 30 s) and answered the moment a message arrives. Only the agent itself may claim.',
      tag: 'deliveries',
      auth: 'agent',
      params: AgentParams,
      body: ClaimRequestSchema,
      response: ClaimResponseSchema,
      async handler({ params, body, caller, reply }) {
        requireSelf(caller, params.agentId, 'claim the messages')
        const options = {
          limit: body.limit,
          ...(body.leaseSeconds === undefined ? {} : { leaseSeconds: body.leaseSeconds }),
        }
        let parked: AbortSignal | undefined
        try {
          // Another consumer may win the claim after a wake-up: wait again until the deadline.
          const messages = await claimThenWait(
            {
              claim: async () => {
                const claimed = await spool.claim(params.agentId, options)
                return claimed.length === 0 ? undefined : claimed
              },
              wait: (timeoutMs) => {
                if (parked === undefined) {
                  parked = connectionSignal(reply, ctx.shutdown)
                  ctx.metrics.longPollParked()
                }
                return ctx.parked.wait(params.agentId, timeoutMs, parked)
              },
            },
            { timeoutMs: body.waitMs, waitAgain: true },
          )
          return { messages: messages ?? [] }
        } finally {
          if (parked !== undefined) ctx.metrics.longPollEnded()
        }
      },
    }),
    route({
      method: 'POST',
      url: `${API_PREFIX}/agents/:agentId/replies/:requestId/claim`,
      operationId: 'claimReply',
      summary:
        'Lease the oldest reply to one request (a message with `routing.replyTo` = requestId) and nothing else',
      description:
        "The agent's other messages, replies to its other requests included, are left queued. With `waitMs`, when no reply is waiting the request is held (at most 30 s) and answered the moment one arrives; `message` is null when none came. Only the agent itself may claim.",
      tag: 'deliveries',
      auth: 'agent',
      params: ReplyParams,
      body: ClaimReplyRequestSchema,
      response: ClaimReplyResponseSchema,
      async handler({ params, body, caller, reply }) {
        requireSelf(caller, params.agentId, 'claim the replies')
        const lease = body.leaseSeconds === undefined ? {} : { leaseSeconds: body.leaseSeconds }
        let signal: AbortSignal | undefined
        // Another claimer may win the reply after a wake-up: wait again until the deadline.
        const message = await claimThenWait(
          {
            claim: () => spool.claimReply(params.agentId, params.requestId, lease),
            wait: (timeoutMs) => {
              signal ??= connectionSignal(reply, ctx.shutdown)
              return spool.waitForReply(params.agentId, params.requestId, { timeoutMs, signal })
            },
          },
          { timeoutMs: body.waitMs, waitAgain: true },
        )
        return { message: message ?? null }
      },
    }),
    route({
      method: 'GET',
      url: `${API_PREFIX}/agents/:agentId/wait`,
      operationId: 'wait',
      summary:
        'Whether the agent has a claimable message, waiting up to `timeoutMs` for one (claims nothing)',
      tag: 'deliveries',
      auth: 'agent',
      params: AgentParams,
      query: WaitQuerySchema,
      response: WaitResponseSchema,
      async handler({ params, query, caller, reply }) {
        requireSelf(caller, params.agentId, 'wait for the messages')
        const timeoutMs = query.timeoutMs ?? 0
        const signal = timeoutMs > 0 ? connectionSignal(reply, ctx.shutdown) : undefined
        const available = await spool.waitForMessages(params.agentId, {
          timeoutMs,
          ...(signal === undefined ? {} : { signal }),
        })
        return { available }
      },
    }),
    route({
      method: 'GET',
      url: `${API_PREFIX}/agents/:agentId/stream`,
      operationId: 'stream',
      summary: "Server-sent events: the agent's messages, claimed and leased as they arrive, in claim order",
      description:
        'Each `message` event is a ClaimedMessage; ack it as usual. A message claimed but not acked before its lease runs out (e.g. the stream broke) is delivered again.',
      tag: 'deliveries',
      auth: 'agent',
      params: AgentParams,
      query: StreamQuerySchema,
      stream: true,
      async handler({ params, query, caller, request, reply }) {
        requireSelf(caller, params.agentId, 'stream the messages')
        const options = {
          limit: query.limit ?? DEFAULT_CLAIM_LIMIT,
          ...(query.leaseSeconds === undefined ? {} : { leaseSeconds: query.leaseSeconds }),
        }
        const signal = connectionSignal(reply, ctx.shutdown)
        reply.hijack()
        const res = reply.raw
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          'x-request-id': String(request.id),
        })
        res.write(': connected\n\n')
        ctx.metrics.streamOpened()
        const send = async (claimed: ClaimedMessage): Promise<void> => {
          const event = `id: ${claimed.message.id}\nevent: message\ndata: ${JSON.stringify(claimed)}\n\n`
          if (!res.write(event)) await once(res, 'drain', { signal })
        }
        try {
          while (!signal.aborted) {
            const batch = await spool.claim(params.agentId, options)
            for (const claimed of batch) await send(claimed)
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
          // On shutdown the socket goes too, or its keep-alive would hold the server open.
          res.end(() => {
            if (ctx.shutdown.aborted) res.socket?.destroy()
          })
        }
        return undefined
      },
    }),
    route({
      method: 'POST',
      url: `${API_PREFIX}/agents/:agentId/messages/:messageId/ack`,
      operationId: 'ack',
      summary: 'Mark a leased delivery done (a second ack is a no-op reported as alreadyAcked)',
      tag: 'deliveries',
      auth: 'agent',
      params: DeliveryParams,
      body: AckRequestSchema,
      response: AckResultSchema,
      errors: [404, 409],
      async handler({ params, body, caller }) {
        requireSelf(caller, params.agentId, 'ack the deliveries')
        return spool.ack(params.messageId, params.agentId, body)
      },
    }),
    route({
      method: 'POST',
      url: `${API_PREFIX}/agents/:agentId/ack`,
      operationId: 'ackBatch',
      summary: 'Ack many deliveries in one transaction; refused as a whole if any ack is',
      tag: 'deliveries',
      auth: 'agent',
      params: AgentParams,
      body: AckBatchRequestSchema,
      response: AckBatchResponseSchema,
      errors: [404, 409],
      async handler({ params, body, caller }) {
        requireSelf(caller, params.agentId, 'ack the deliveries')
        const results = await spool.ackBatch(
          body.items.map((item) => ({
            messageId: item.messageId,
            agent: params.agentId,
            ...(item.receipt === undefined ? {} : { receipt: item.receipt }),
          })),
        )
        return { results }
      },
    }),
    route({
      method: 'POST',
      url: `${API_PREFIX}/agents/:agentId/messages/:messageId/nack`,
      operationId: 'nack',
      summary:
        'Give a leased delivery back for a retry, or dead-letter it (out of attempts, or `deadLetter`)',
      tag: 'deliveries',
      auth: 'agent',
      params: DeliveryParams,
      body: NackRequestSchema,
      response: NackResultSchema,
      errors: [404, 409],
      async handler({ params, body, caller }) {
        requireSelf(caller, params.agentId, 'nack the deliveries')
        return spool.nack(params.messageId, params.agentId, body)
      },
    }),
    route({
      method: 'POST',
      url: `${API_PREFIX}/agents/:agentId/messages/:messageId/extend`,
      operationId: 'extendLease',
      summary: 'Push a lease out to `leaseSeconds` from now while the agent is still working',
      tag: 'deliveries',
      auth: 'agent',
      params: DeliveryParams,
      body: ExtendRequestSchema,
      response: ExtendLeaseResultSchema,
      errors: [404, 409],
      async handler({ params, body, caller }) {
        requireSelf(caller, params.agentId, 'extend the leases')
        return spool.extendLease(params.messageId, params.agentId, body)
      },
    }),
  ]
}
