import {
  AgentIdSchema,
  type ApprovalRequest,
  ApprovalRequestSchema,
  type ApprovalResponse,
  ApprovalResponseSchema,
  CAPABILITY_TARGET_PREFIX,
  CapabilitySchema,
  type Clock,
  createMessage,
  EXPIRY_DECIDER,
  InvalidStateError,
  isAgentCommError,
  JsonObjectSchema,
  type Logger,
  type MessageV2,
  MessageV2Schema,
  replyThread,
  ValidationError,
} from '@agent-comm/protocol'
import type { Registry } from '@agent-comm/registry'
import type { Spool } from '@agent-comm/spool'
import { escalationIdOf, originalIdOf, responseIdOf } from './console-ids.js'
import type { AuditRecord, ConsoleStore } from './console-store.js'

/** A pending approval request as the console lists it. */
export interface PendingApproval {
  /** The request message the decision answers (the original, also for an escalated copy). */
  requestId: string
  message: MessageV2
  request: ApprovalRequest
}

/** One entry of the audit log: a decision and the request it answered. */
export interface AuditEntry {
  /** Position in the log (the audit table's sequence); pages are asked for with the `next` cursor. */
  seq: number
  requestId: string
  responseId: string
  requester: string
  question: string
  action?: string
  decision: string
  comment?: string
  decidedBy: string
  decidedAt: string
  arguments?: Record<string, unknown>
  expired: boolean
}

function approvalOf(message: MessageV2): ApprovalRequest | undefined {
  if (message.payload?.type !== 'approval_request') return undefined
  const parsed = ApprovalRequestSchema.safeParse(message.payload.data)
  return parsed.success ? parsed.data : undefined
}

/** A page of a list: its items, and the cursor of the next page when there may be one. */
export interface Page<T> {
  items: T[]
  next?: string
}

/** Most rows one page of approvals or audit entries holds. */
export const MAX_PAGE = 200

const cursorOf = (createdAt: number, seq: number) => `${createdAt}.${seq}`

function parseCursor(cursor: string | undefined): { createdAt: number; seq: number } | undefined {
  if (cursor === undefined) return undefined
  const match = /^(-?\d{1,16})\.(\d{1,16})$/.exec(cursor)
  if (match === null) {
    throw new ValidationError(`Invalid cursor '${cursor}'`, [
      { path: 'cursor', message: 'must be the `next` of a previous page' },
    ])
  }
  return { createdAt: Number(match[1]), seq: Number(match[2]) }
}

function entryOf(record: AuditRecord): AuditEntry {
  const args =
    record.arguments === null ? undefined : JsonObjectSchema.safeParse(JSON.parse(record.arguments))
  return {
    seq: record.seq,
    requestId: record.requestId,
    responseId: record.responseId,
    requester: record.requester,
    question: record.question,
    action: record.action ?? undefined,
    decision: record.decision,
    comment: record.comment ?? undefined,
    decidedBy: record.decidedBy,
    decidedAt: new Date(record.decidedAt).toISOString(),
    arguments: args?.success === true ? args.data : undefined,
    expired: record.expired,
  }
}

function responseOf(record: AuditRecord): ApprovalResponse {
  const entry = entryOf(record)
  return ApprovalResponseSchema.parse({
    decision: entry.decision,
    comment: entry.comment,
    decidedBy: entry.decidedBy,
    decidedAt: entry.decidedAt,
    arguments: entry.arguments,
    // Only a decision by expiry says so (no `expired: false`), as in `decide`.
    ...(entry.expired ? { expired: true } : {}),
  })
}

/**
 * Approval requests and their decisions: which wait for whom (a paged query of the console's store over
 * the spool's tables), deciding (first decision wins), the audit log, and the deadline policies applied
 * when a request expires. A decision is a row of the console's append-only audit table, written in one
 * transaction with its `approval_response` message in an outbox; the message is then sent as a reply to the
 * request (routing.replyTo), so an agent waiting with `request()` or polling its inbox gets it like any
 * reply. The audit lives apart from the messages: `cleanup` of the spool leaves it whole.
 */
export class Approvals {
  readonly #spool: Spool
  readonly #registry: Registry
  readonly #clock: Clock
  readonly #store: ConsoleStore
  readonly #logger: Logger | undefined

  constructor(deps: {
    spool: Spool
    registry: Registry
    clock: Clock
    store: ConsoleStore
    logger?: Logger
  }) {
    this.#spool = deps.spool
    this.#registry = deps.registry
    this.#clock = deps.clock
    this.#store = deps.store
    this.#logger = deps.logger
  }

  /**
   * One page of open approval requests (not decided, not handed on), oldest first: those delivered to
   * `agentId`, or to anyone when `agentId` is undefined (the operator), whether or not an agent acked its
   * delivery — an ack is no decision. `cursor` is the `next` of the page before.
   */
  async pending(
    agentId: string | undefined,
    page: { cursor?: string; limit?: number } = {},
  ): Promise<Page<PendingApproval>> {
    const limit = Math.min(Math.max(page.limit ?? 50, 1), MAX_PAGE)
    const after = parseCursor(page.cursor)
    const refs = await this.#store.pendingApprovals({ recipient: agentId, after, limit })
    const items: PendingApproval[] = []
    for (const ref of refs) {
      let message: MessageV2
      try {
        message = (await this.#spool.status(ref.id)).message
      } catch (error) {
        // Removed by a cleanup between the query and this read: no longer pending.
        if (isAgentCommError(error) && error.code === 'MESSAGE_NOT_FOUND') continue
        throw error
      }
      const request = approvalOf(message)
      if (request !== undefined) items.push({ requestId: originalIdOf(message), message, request })
    }
    const last = refs.at(-1)
    return {
      items,
      next: refs.length === limit && last !== undefined ? cursorOf(last.createdAt, last.seq) : undefined,
    }
  }

  /**
   * True when `message` is an approval request still waiting for its decision: not decided, and not handed on
   * to an escalated copy. Such a request must not be marked done without a decision.
   */
  async awaitsDecision(message: MessageV2): Promise<boolean> {
    if (approvalOf(message) === undefined) return false
    if ((await this.#store.decision(originalIdOf(message))) !== undefined) return false
    try {
      await this.#spool.status(escalationIdOf(message.id))
      return false
    } catch (error) {
      if (isAgentCommError(error) && error.code === 'MESSAGE_NOT_FOUND') return true
      throw error
    }
  }

  /** Every open approval request, page by page (the deadline sweep). */
  async *allPending(): AsyncGenerator<PendingApproval> {
    let cursor: string | undefined
    do {
      const page = await this.pending(undefined, { cursor, limit: MAX_PAGE })
      yield* page.items
      cursor = page.next
    } while (cursor !== undefined)
  }

  /**
   * Records a decision on `message` by `decidedBy` (a verified identity) and sends it to the requester. The
   * first decision wins: a later one changes nothing and returns the decision already made. Once the
   * request's deadline has passed on the relay's clock, its expiry policy decided at the deadline, before
   * any person: a person's decision then applies the policy (if the sweep has not yet) and returns its
   * decision with `first: false`, or, when the policy hands the request on, is refused (INVALID_STATE).
   * `expired` marks the expiry policy's own decision, which need not be among the request's options.
   */
  async decide(
    message: MessageV2,
    decision: { decision: string; comment?: string; arguments?: Record<string, unknown> },
    decidedBy: string,
    expired = false,
  ): Promise<{ response: ApprovalResponse; first: boolean }> {
    const request = approvalOf(message)
    if (request === undefined) {
      throw new ValidationError(`Message '${message.id}' is not an approval request`, [
        { path: 'messageId', message: 'must be an approval_request message' },
      ])
    }
    if (!expired && !request.options.includes(decision.decision)) {
      throw new ValidationError(
        `Invalid decision '${decision.decision}': this request offers ${request.options.join(', ')}`,
        [{ path: 'decision', message: `must be one of ${request.options.join(', ')}` }],
      )
    }
    const requestId = originalIdOf(message)
    const now = this.#clock.now()
    if (!expired && request.deadline !== undefined && Date.parse(request.deadline) <= now) {
      return this.#afterDeadline({ requestId, message, request }, now)
    }
    // Keys left out, not undefined: the response rides in a message payload, JSON that refuses undefined.
    const response = ApprovalResponseSchema.parse({
      decision: decision.decision,
      ...(decision.comment === undefined || decision.comment === '' ? {} : { comment: decision.comment }),
      decidedBy,
      decidedAt: new Date(now).toISOString(),
      ...(decision.arguments === undefined ? {} : { arguments: decision.arguments }),
      ...(expired ? { expired: true } : {}),
    })
    const reply = createMessage(
      {
        id: responseIdOf(requestId),
        fromAgent: decidedBy,
        toAgent: message.fromAgent,
        ...replyThread({ id: requestId, subject: message.subject, routing: message.routing }),
        body: `${response.decision}${response.comment === undefined ? '' : `: ${response.comment}`}`,
        payload: { type: 'approval_response', data: response },
      },
      { clock: this.#clock },
    )
    // The audit row is the decision: its unique request id makes the first one stored win, on one relay
    // or several sharing a database, and the response message rides in the same transaction (outbox).
    const { first, record } = await this.#store.recordDecision(
      {
        requestId,
        responseId: reply.id,
        requester: message.fromAgent,
        question: request.question,
        action: request.action?.name ?? null,
        decision: response.decision,
        comment: response.comment ?? null,
        decidedBy,
        decidedAt: now,
        arguments: response.arguments === undefined ? null : JSON.stringify(response.arguments),
        expired,
      },
      JSON.stringify(reply),
      now,
    )
    if (!first) return { response: responseOf(record), first: false }
    await this.#deliver(requestId, reply)
    return { response, first: true }
  }

  /** Sends a recorded response message (a duplicate of one already sent is fine) and clears its outbox row. */
  async #deliver(requestId: string, reply: MessageV2): Promise<void> {
    try {
      await this.#spool.send(reply)
    } catch (error) {
      if (!isAgentCommError(error) || error.code !== 'CONFLICT') throw error
      // The decision id is held by another sender's message, stored before the relay refused such ids from
      // clients. The audit row stays the decision; retrying could never succeed and would block the sweep.
      this.#logger?.error(
        { requestId, responseId: reply.id, decidedBy: reply.fromAgent },
        "approval decision recorded, but its response could not be sent: another sender's message holds its id",
      )
    }
    await this.#store.outboxSent(requestId)
  }

  /** Sends the response messages of decisions recorded but not sent (a process died in between). */
  async flushOutbox(): Promise<number> {
    let sent = 0
    for (const row of await this.#store.outbox(100)) {
      await this.#deliver(row.requestId, MessageV2Schema.parse(JSON.parse(row.message)))
      sent += 1
    }
    return sent
  }

  /**
   * A person's decision on a request whose deadline has passed (the sweep had not got to it): the decision
   * already recorded, else the expiry policy's, applied now; both returned as the first (`first: false`). A
   * request handed on to someone else has no decision to return: refused, saying where it went.
   */
  async #afterDeadline(
    open: PendingApproval,
    now: number,
  ): Promise<{ response: ApprovalResponse; first: boolean }> {
    const stored = await this.#store.decision(open.requestId)
    if (stored !== undefined) return { response: responseOf(stored), first: false }
    const policy = open.request.onExpiry
    if (typeof policy === 'string') {
      // `decide` returns the decision already recorded should the sweep record one meanwhile.
      const { response } = await this.decide(open.message, { decision: policy }, EXPIRY_DECIDER, true)
      return { response, first: false }
    }
    // Not handed on yet: hand it on now (or, with nobody to hand it to, deny it). Handed on already (the
    // sweep escalated it): whoever holds the copy decides.
    if (await this.awaitsDecision(open.message)) {
      const applied = await this.#escalate(open, policy.escalateTo, now)
      if (applied !== undefined) return { response: applied, first: false }
    }
    const raced = await this.#store.decision(open.requestId)
    if (raced !== undefined) return { response: responseOf(raced), first: false }
    const target = policy.escalateTo
    throw new InvalidStateError(
      `Approval request '${open.requestId}' reached its deadline (${open.request.deadline}) before this decision and was handed on to ${target}, as its onExpiry asks; this decision was not recorded`,
      {
        hint: `Those it went to decide it on their Approvals page (the operator sees it there too), before its new deadline.`,
        details: { requestId: open.requestId, deadline: open.request.deadline, escalatedTo: target },
      },
    )
  }

  /**
   * Applies the expiry policy of `open`, whose deadline has passed: the decision made (deny or approve by
   * `system:expiry`), or `undefined` when the request was handed on to someone who can decide it.
   */
  async #applyExpiry(open: PendingApproval, now: number): Promise<ApprovalResponse | undefined> {
    const policy = open.request.onExpiry
    if (typeof policy === 'string') {
      return (await this.decide(open.message, { decision: policy }, EXPIRY_DECIDER, true)).response
    }
    return this.#escalate(open, policy.escalateTo, now)
  }

  /**
   * One page of the audit log, oldest first, read from the audit table (not the messages): every decision,
   * or those `agentId` made or asked for. `cursor` is the `next` of the page before.
   */
  async audit(
    agentId: string | undefined,
    page: { cursor?: string; limit?: number } = {},
  ): Promise<Page<AuditEntry>> {
    const limit = Math.min(Math.max(page.limit ?? 100, 1), MAX_PAGE)
    let afterSeq: number | undefined
    if (page.cursor !== undefined) {
      if (!/^\d{1,16}$/.test(page.cursor)) {
        throw new ValidationError(`Invalid cursor '${page.cursor}'`, [
          { path: 'cursor', message: 'must be the `next` of a previous page' },
        ])
      }
      afterSeq = Number(page.cursor)
    }
    const records = await this.#store.audit({ agentId, afterSeq, limit })
    const last = records.at(-1)
    return {
      items: records.map(entryOf),
      next: records.length === limit && last !== undefined ? String(last.seq) : undefined,
    }
  }

  /**
   * Sends what the outbox holds, then applies the expiry policy of every open request whose deadline has
   * passed: deny or approve in the name of `system:expiry`, or send an escalated copy to another human or
   * capability (with a new deadline as long as the first, and `deny` on its expiry). Returns how many
   * requests it handled.
   */
  async sweep(): Promise<number> {
    await this.flushOutbox()
    const now = this.#clock.now()
    const due: PendingApproval[] = []
    for await (const open of this.allPending()) {
      if (open.request.deadline !== undefined && Date.parse(open.request.deadline) <= now) due.push(open)
    }
    let handled = 0
    for (const open of due) {
      await this.#applyExpiry(open, now)
      handled += 1
    }
    return handled
  }

  /**
   * Hands `open` on to `target` (an agent, or `cap:` / `capability:<name>`) as an escalated copy; returns
   * `undefined`. With nobody to hand it to (no registered agent of that id, no agent with that capability),
   * the copy would reach no one and the requester would wait forever: the copy's own policy (`deny`) is
   * applied at once instead, logged, and its decision returned.
   */
  async #escalate(open: PendingApproval, target: string, now: number): Promise<ApprovalResponse | undefined> {
    const { message, request } = open
    const capability = /^(cap|capability):(.+)$/.exec(target)?.[2]
    const toAgent = capability === undefined ? target : `${CAPABILITY_TARGET_PREFIX}${capability}`
    const window = Math.max(60_000, Date.parse(request.deadline ?? '') - Date.parse(message.timestamp))
    let recipients: string[] | undefined
    let someone: boolean
    if (capability === undefined) {
      someone = AgentIdSchema.safeParse(target).success && (await this.#registry.get(target)) !== undefined
    } else {
      recipients = CapabilitySchema.safeParse(capability).success
        ? (await this.#registry.findByCapability(capability)).map((p) => p.agentId)
        : []
      someone = recipients.length > 0
    }
    if (!someone) {
      this.#logger?.warn(
        { requestId: open.requestId, escalateTo: target, requester: message.fromAgent },
        'approval request escalated to nobody (no such agent, or no agent with the capability): denied by its expiry policy',
      )
      return (await this.decide(message, { decision: 'deny' }, EXPIRY_DECIDER, true)).response
    }
    await this.#spool.send(
      {
        id: escalationIdOf(open.requestId),
        fromAgent: message.fromAgent,
        toAgent,
        subject: message.subject,
        body: message.body,
        priority: message.priority,
        routing: { conversationId: message.routing.conversationId },
        payload: {
          type: 'approval_request',
          data: { ...request, deadline: new Date(now + window).toISOString(), onExpiry: 'deny' },
        },
        metadata: {
          ...(message.metadata ?? {}),
          approvalFor: open.requestId,
          escalatedFrom: message.toAgent,
        },
      },
      { recipients },
    )
    return undefined
  }
}
