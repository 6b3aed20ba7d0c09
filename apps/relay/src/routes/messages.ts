import type { MessageV2 } from '@agent-comm/protocol'
import {
  BROADCAST_TARGET,
  CAPABILITY_TARGET_PREFIX,
  ConversationIdSchema,
  ErrorCode,
  MAX_TTL_HOURS,
  MessageIdSchema,
  MessageNotFoundError,
  MessageStatusSchema,
  NoRecipientsError,
  SendResultSchema,
  ValidationError,
} from '@agent-comm/protocol'
import { isGroupTarget, type SendOptions } from '@agent-comm/spool'
import {
  API_PREFIX,
  ConversationResponseSchema,
  ConversationsQuerySchema,
  ConversationsResponseSchema,
  SendBatchRequestSchema,
  SendBatchResponseSchema,
  SendRequestSchema,
} from '@agent-comm/transport-http'
import { z } from 'zod'
import type { Caller } from '../auth.js'
import { requireClientMessageId } from '../console-ids.js'
import { mayRead, type RelayContext } from '../context.js'
import { forbidden, HttpProblem } from '../http-errors.js'
import { type RouteDef, routesOf } from '../route-table.js'

const route = routesOf({ tag: 'messages', auth: 'agent', prefix: API_PREFIX })

/** The spool's options for one message of a send request (or batch item), to its resolved recipients. */
function sendOptions(
  recipients: string[] | undefined,
  item: { delaySeconds?: number; maxAttempts?: number; idempotencyKey?: string },
): SendOptions {
  return {
    recipients,
    delaySeconds: item.delaySeconds,
    maxAttempts: item.maxAttempts,
    idempotencyKey: item.idempotencyKey,
  }
}

/**
 * Refuses a message whose own `timestamp` the relay cannot honour. Its TTL counts from that timestamp, which
 * the sender sets: one whose TTL has already run out would be answered 200 and expire before anyone could
 * claim it; one so far ahead that it would expire more than the protocol's TTL bound (ten years) from now
 * would outlive that bound (a year-9999 message is never removed by cleanup). A sender clock that is off
 * by less is taken as it is.
 */
function requireCurrentTimestamp(message: MessageV2, path: string, now: number): void {
  const sent = Date.parse(message.timestamp)
  const expires = sent + message.routing.ttlHours * HOUR_MS
  const nowIso = (): string => new Date(now).toISOString()
  const hint =
    "Send it with the current time as its timestamp (the client libraries set it), and check this machine's clock (NTP)."
  if (expires > now + MAX_TTL_HOURS * HOUR_MS) {
    throw new ValidationError(
      `Invalid send: ${path} ${message.timestamp} with ttlHours ${message.routing.ttlHours} would expire more than ${MAX_TTL_HOURS} hours (ten years) after the relay's clock (${nowIso()})`,
      [{ path, message: `with its TTL, must end within ${MAX_TTL_HOURS} hours of the relay's clock` }],
      { hint },
    )
  }
  if (expires <= now) {
    throw new ValidationError(
      `Invalid send: ${path} ${message.timestamp} with ttlHours ${message.routing.ttlHours} expired before it reached the relay (relay clock ${nowIso()}); no one could receive it`,
      [{ path, message: 'its TTL, counted from this timestamp, has already run out' }],
      { hint },
    )
  }
}

const HOUR_MS = 3_600_000

/** Sending, message status and threads. */
export function messageRoutes(ctx: RelayContext): RouteDef[] {
  const { spool, registry } = ctx

  /** A sender speaks only for itself: the signature proves who sent the request, so it must be who the message says. */
  const requireSender = (caller: Caller, message: MessageV2, path: string): void => {
    if (message.fromAgent !== caller.agentId) {
      throw forbidden(
        `Agent '${caller.agentId}' may not send a message from '${message.fromAgent}' (${path})`,
        `Set fromAgent to '${caller.agentId}', or sign the request with '${message.fromAgent}''s secret.`,
      )
    }
  }

  /**
   * Recipients of `*` and `capability:<name>` when the sender gave none: the registry's group members,
   * sender excluded (`undefined` for a direct message). `resolved` memoises the answer per target and sender
   * for the request (a batch of 1000 broadcasts reads the registry once).
   */
  const groupRecipients = async (
    message: MessageV2,
    resolved: Map<string, Promise<{ agentId: string }[] | undefined>>,
  ): Promise<string[] | undefined> => {
    // A direct message has no group: not asked of the registry (which would answer undefined too).
    if (!isGroupTarget(message.toAgent)) return undefined
    const key = `${message.toAgent}\u0000${message.fromAgent}`
    let members = resolved.get(key)
    if (members === undefined) {
      members = registry.groupMembers(message.toAgent, message.fromAgent)
      resolved.set(key, members)
    }
    return (await members)?.map((a) => a.agentId)
  }

  /**
   * Refuses (404 AGENT_NOT_FOUND) a `*` or `capability:<name>` message that reaches nobody and is not held:
   * stored, it would have no delivery and an id no one could look up. Checked before anything is stored.
   */
  const requireSomeone = (
    message: MessageV2,
    recipients: string[] | undefined,
    hold: boolean | undefined,
  ) => {
    if (recipients === undefined || recipients.length > 0 || hold === true) return
    const to = message.toAgent
    throw new NoRecipientsError(
      to === BROADCAST_TARGET ? undefined : to.slice(CAPABILITY_TARGET_PREFIX.length),
    )
  }

  /** Refuses (400) a hold on a message that is not addressed to `*` or `capability:<name>`, before anything is stored. */
  const requireGroupForHold = (
    item: { message: MessageV2; holdForFutureRecipients?: boolean },
    path: string,
  ) => {
    const to = item.message.toAgent
    if (item.holdForFutureRecipients !== true || isGroupTarget(to)) return
    throw new ValidationError(
      `Invalid send: only a '*' or 'capability:<name>' message can be held for future recipients, not one to '${to}'`,
      [{ path, message: "only for a '*' or 'capability:<name>' target" }],
    )
  }

  /**
   * Holds a sent group message for agents that register later (the registry releases it to them as they
   * register), then gives it to the agents that registered while this request ran: their registration came
   * before the hold, so it found nothing to release. Deliveries are unique per message and agent, so
   * overlapping releases add nothing.
   */
  const holdForLater = async (message: MessageV2, maxAttempts: number | undefined): Promise<void> => {
    await spool.hold(message, { maxAttempts })
    const to = message.toAgent
    const capabilities = to === BROADCAST_TARGET ? [] : [to.slice(CAPABILITY_TARGET_PREFIX.length)]
    for (const agentId of (await groupRecipients(message, new Map())) ?? []) {
      await spool.releaseHeld(agentId, capabilities)
    }
  }

  /**
   * The deliveries a message will create, refused (400) over `maxRecipientsPerMessage`. A direct message
   * without recipients makes one.
   */
  const deliveriesOf = (recipients: readonly string[] | undefined, path: string): number => {
    const count = recipients === undefined ? 1 : new Set(recipients).size
    const max = ctx.fanOut.maxRecipientsPerMessage
    if (count > max) {
      throw new ValidationError(
        `Invalid send: ${path} has ${count} recipients; the relay's limit maxRecipientsPerMessage is ${max}`,
        [{ path, message: `at most ${max} recipients (maxRecipientsPerMessage)` }],
      )
    }
    return count
  }

  /**
   * Refuses (413) a request creating more deliveries than `maxDeliveriesPerRequest`, then charges them to
   * the sender's rate limit: fan-out is paid per delivery, not per request (the request paid one already).
   */
  const admitFanOut = (caller: Caller, deliveries: number): void => {
    const max = ctx.fanOut.maxDeliveriesPerRequest
    if (deliveries > max) {
      throw new HttpProblem(
        413,
        ErrorCode.VALIDATION,
        `This request would create ${deliveries} deliveries; the relay's limit maxDeliveriesPerRequest is ${max}`,
        {
          hint: 'Split it into several requests, or address a capability instead of listing every recipient.',
          details: { limit: 'maxDeliveriesPerRequest', max, deliveries },
        },
      )
    }
    ctx.charge(caller, deliveries - 1)
  }

  return [
    route({
      method: 'POST',
      url: '/messages',
      operationId: 'send',
      summary:
        'Store a message and queue its deliveries (sending an id or an idempotency key again is a reported no-op)',
      description:
        "`message.fromAgent` must be the signing agent. A `*` or `capability:<name>` message without `recipients` goes to the relay's registered agents (with that capability), the sender excluded. With `holdForFutureRecipients`, such a message is also held until it expires: every agent that registers with the relay later and matches it gets it once (a target nobody matches is then stored and held).",
      body: SendRequestSchema,
      response: SendResultSchema,
      async handler({ body, caller }) {
        requireSender(caller, body.message, 'message.fromAgent')
        requireClientMessageId(body.message.id, 'message.id')
        requireCurrentTimestamp(body.message, 'message.timestamp', ctx.clock.now())
        requireGroupForHold(body, 'holdForFutureRecipients')
        const recipients = body.recipients ?? (await groupRecipients(body.message, new Map()))
        requireSomeone(body.message, recipients, body.holdForFutureRecipients)
        admitFanOut(caller, deliveriesOf(recipients, 'recipients'))
        const result = await spool.send(body.message, sendOptions(recipients, body))
        if (result.deliveries > 0 && (body.delaySeconds ?? 0) === 0) {
          if (ctx.parked.wake(result.recipients) > 0) await ctx.parked.afterWoken()
        }
        if (body.holdForFutureRecipients === true) await holdForLater(body.message, body.maxAttempts)
        return result
      },
    }),
    route({
      method: 'POST',
      url: '/messages/batch',
      operationId: 'sendBatch',
      summary:
        'Store up to 1000 messages: all or none when valid (a batch of more than `chunkDeliveries` deliveries is written in several transactions)',
      body: SendBatchRequestSchema,
      response: SendBatchResponseSchema,
      async handler({ body, caller }) {
        for (const [i, item] of body.items.entries()) {
          requireSender(caller, item.message, `items.${i}.message.fromAgent`)
          requireClientMessageId(item.message.id, `items.${i}.message.id`)
          requireCurrentTimestamp(item.message, `items.${i}.message.timestamp`, ctx.clock.now())
          requireGroupForHold(item, `items.${i}.holdForFutureRecipients`)
        }
        const resolved = new Map<string, Promise<{ agentId: string }[] | undefined>>()
        let deliveries = 0
        const items = await Promise.all(
          body.items.map(async (item, i) => {
            const recipients = item.recipients ?? (await groupRecipients(item.message, resolved))
            requireSomeone(item.message, recipients, item.holdForFutureRecipients)
            deliveries += deliveriesOf(recipients, `items.${i}.recipients`)
            return { message: item.message, options: sendOptions(recipients, item) }
          }),
        )
        admitFanOut(caller, deliveries)
        const results = await spool.sendBatch(items, { chunkDeliveries: ctx.fanOut.chunkDeliveries })
        let woken = 0
        for (const [i, result] of results.entries()) {
          if (result.deliveries > 0 && (body.items[i]?.delaySeconds ?? 0) === 0) {
            woken += ctx.parked.wake(result.recipients)
          }
        }
        if (woken > 0) await ctx.parked.afterWoken()
        for (const item of body.items) {
          if (item.holdForFutureRecipients === true) await holdForLater(item.message, item.maxAttempts)
        }
        return {
          results: results.map((r) => ({
            messageId: r.messageId,
            duplicate: r.duplicate,
            deliveries: r.deliveries,
            recipients: r.recipients,
          })),
        }
      },
    }),
    route({
      method: 'GET',
      url: '/messages/:messageId',
      operationId: 'status',
      summary: 'A message and every delivery of it',
      description:
        'Visible to its sender, its recipients and the admin; to anyone else it does not exist (404 MESSAGE_NOT_FOUND), so ids cannot be probed.',
      params: z.strictObject({ messageId: MessageIdSchema }),
      response: MessageStatusSchema,
      errors: [404],
      async handler({ params, caller }) {
        const status = await spool.status(params.messageId)
        if (!mayRead(caller, status)) throw new MessageNotFoundError(params.messageId)
        return status
      },
    }),
    route({
      method: 'GET',
      url: '/conversations',
      operationId: 'conversations',
      summary:
        'Threads the signing agent took part in, most recently active first, each summarised over the messages it sent or received (all threads, whole, for the admin)',
      query: ConversationsQuerySchema,
      response: ConversationsResponseSchema,
      async handler({ query, caller }) {
        // An agent sees a thread only through the messages it sent or received; the admin sees every thread whole.
        return {
          conversations: await spool.conversations({
            limit: query.limit,
            visibleTo: caller.admin ? undefined : caller.agentId,
          }),
        }
      },
    }),
    route({
      method: 'GET',
      url: '/conversations/:conversationId',
      operationId: 'conversation',
      summary: 'The messages of a thread that the signing agent sent or received, oldest first',
      params: z.strictObject({ conversationId: ConversationIdSchema }),
      response: ConversationResponseSchema,
      async handler({ params, caller }) {
        // One query however long the thread: the spool filters to what the caller may see.
        const messages = await spool.conversation(params.conversationId, {
          visibleTo: caller.admin ? undefined : caller.agentId,
        })
        return { messages }
      },
    }),
  ]
}
