import {
  type ApprovalRequest,
  ApprovalRequestSchema,
  type ApprovalResponse,
  ApprovalResponseSchema,
  CAPABILITY_TARGET_PREFIX,
  type Clock,
  createMessage,
  EXPIRY_DECIDER,
  isAgentCommError,
  JsonObjectSchema,
  type MessageV2,
  MessageV2Schema,
  replyThread,
  ValidationError,
} from '@agent-comm/protocol'
import type { Registry } from '@agent-comm/registry'
import type { Spool } from '@agent-comm/spool'
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

// Deterministic ids: sending a decision's message again (the outbox after a crash) is a reported duplicate,
// and an escalation happens once. Which decision wins is the audit table's unique request id.
const responseIdOf = (requestId: string) => `${requestId}.decision`
const escalationIdOf = (requestId: string) => `${requestId}.escalated`

/** The request a message answers for: the original of an escalated copy, or the message itself. */
function originalId(message: MessageV2): string {
  const from = message.metadata?.approvalFor
  return typeof from === 'string' ? from : message.id
}

function approvalOf(message: MessageV2): ApprovalRequest | undefined {
  if (message.payload?.type !== 'approval_request') return undefined
  const parsed = ApprovalRequestSchema.safeParse(message.payload.data)
  return parsed.success ? parsed.data : undefined
}

async function exists(spool: Spool, messageId: string): Promise<boolean> {
  try {
    await spool.status(messageId)
    return true
  } catch (error) {
    if (isAgentCommError(error) && error.code === 'MESSAGE_NOT_FOUND') return false
    throw error
  }
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

  constructor(deps: { spool: Spool; registry: Registry; clock: Clock; store: ConsoleStore }) {
    this.#spool = deps.spool
    this.#registry = deps.registry
    this.#clock = deps.clock
    this.#store = deps.store
  }

  /**
   * One page of open approval requests, oldest first: those with a delivery still pending for `agentId`,
   * or for anyone when `agentId` is undefined (the operator). `cursor` is the `next` of the page before.
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
      if (request !== undefined) items.push({ requestId: originalId(message), message, request })
    }
    const last = refs.at(-1)
    return {
      items,
      next: refs.length === limit && last !== undefined ? cursorOf(last.createdAt, last.seq) : undefined,
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
   * first decision wins: a later one changes nothing and returns the decision already made.
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
    if (!request.options.includes(decision.decision)) {
      throw new ValidationError(
        `Invalid decision '${decision.decision}': this request offers ${request.options.join(', ')}`,
        [{ path: 'decision', message: `must be one of ${request.options.join(', ')}` }],
      )
    }
    const requestId = originalId(message)
    const legacy = await this.#legacyDecision(requestId)
    if (legacy !== undefined) return { response: legacy, first: false }
    const now = this.#clock.now()
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
    await this.#spool.send(reply)
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

  /** A decision stored only as a message (made before the audit table existed), if any. */
  async #legacyDecision(requestId: string): Promise<ApprovalResponse | undefined> {
    if (!(await exists(this.#spool, responseIdOf(requestId)))) return undefined
    if ((await this.#store.decision(requestId)) !== undefined) return undefined
    const stored = await this.#spool.status(responseIdOf(requestId))
    return ApprovalResponseSchema.parse(stored.message.payload?.data)
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
      const { request, message } = open
      const policy = request.onExpiry
      if (typeof policy === 'string') {
        await this.decide(message, { decision: policy }, EXPIRY_DECIDER, true)
      } else {
        await this.#escalate(open, policy.escalateTo, now)
      }
      handled += 1
    }
    return handled
  }

  async #escalate(open: PendingApproval, target: string, now: number): Promise<void> {
    const { message, request } = open
    const capability = /^(cap|capability):(.+)$/.exec(target)?.[2]
    const toAgent = capability === undefined ? target : `${CAPABILITY_TARGET_PREFIX}${capability}`
    const window = Math.max(60_000, Date.parse(request.deadline ?? '') - Date.parse(message.timestamp))
    const recipients =
      capability === undefined
        ? undefined
        : (await this.#registry.findByCapability(capability)).map((p) => p.agentId)
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
  }
}
