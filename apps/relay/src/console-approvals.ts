import {
  type ApprovalRequest,
  ApprovalRequestSchema,
  type ApprovalResponse,
  ApprovalResponseSchema,
  CAPABILITY_TARGET_PREFIX,
  type Clock,
  isAgentCommError,
  type MessageV2,
  ValidationError,
} from '@agent-comm/protocol'
import type { Registry } from '@agent-comm/registry'
import type { Spool } from '@agent-comm/spool'

/** `decidedBy` of a decision made by a request's expiry policy. */
export const EXPIRY_DECIDER = 'system:expiry'

/** A pending approval request as the console lists it. */
export interface PendingApproval {
  /** The request message the decision answers (the original, also for an escalated copy). */
  requestId: string
  message: MessageV2
  request: ApprovalRequest
}

/** One entry of the audit log: a decision and the request it answered. */
export interface AuditEntry {
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

// Deterministic ids make the spool's unique message id the referee: the first decision stored wins, a
// second one is a reported duplicate, on one relay or several sharing a database.
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

/**
 * Approval requests and their decisions over a spool: which wait for whom, deciding (first decision wins),
 * the audit log, and the deadline policies applied when a request expires. Decisions are
 * `approval_response` messages sent as replies to the request (routing.replyTo), so an agent waiting with
 * `request()` or polling its inbox gets them like any reply.
 */
export class Approvals {
  readonly #spool: Spool
  readonly #registry: Registry
  readonly #clock: Clock

  constructor(deps: { spool: Spool; registry: Registry; clock: Clock }) {
    this.#spool = deps.spool
    this.#registry = deps.registry
    this.#clock = deps.clock
  }

  /** Whether an approval request is still open: neither decided nor escalated. */
  async isOpen(message: MessageV2): Promise<boolean> {
    const requestId = originalId(message)
    if (await exists(this.#spool, responseIdOf(requestId))) return false
    // An original handed on by its expiry policy waits in its escalated copy, not here.
    if (message.id === requestId && (await exists(this.#spool, escalationIdOf(requestId)))) return false
    return true
  }

  /**
   * Open approval requests, oldest first: those delivered to `agentId` (still pending for it), or every one
   * the spool holds among its newest 1000 messages when `agentId` is undefined (the operator).
   */
  async pending(agentId: string | undefined): Promise<PendingApproval[]> {
    const messages =
      agentId === undefined
        ? await this.#spool.search({ limit: 1000 })
        : (await this.#spool.pending(agentId, { limit: 1000 })).map((d) => d.message)
    const open: PendingApproval[] = []
    for (const message of messages) {
      const request = approvalOf(message)
      if (request === undefined || !(await this.isOpen(message))) continue
      open.push({ requestId: originalId(message), message, request })
    }
    return open.sort((a, b) => a.message.timestamp.localeCompare(b.message.timestamp))
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
    const response = ApprovalResponseSchema.parse({
      decision: decision.decision,
      ...(decision.comment === undefined || decision.comment === '' ? {} : { comment: decision.comment }),
      decidedBy,
      decidedAt: new Date(this.#clock.now()).toISOString(),
      ...(decision.arguments === undefined ? {} : { arguments: decision.arguments }),
      ...(expired ? { expired: true } : {}),
    })
    const decided = await this.#decision(requestId)
    if (decided !== undefined) return { response: decided, first: false }
    const sent = await this.#spool
      .send({
        id: responseIdOf(requestId),
        fromAgent: decidedBy,
        toAgent: message.fromAgent,
        subject: `Re: ${message.subject}`.slice(0, 200),
        body: `${response.decision}${response.comment === undefined ? '' : `: ${response.comment}`}`,
        routing: {
          replyTo: requestId,
          ...(message.routing.conversationId === undefined
            ? {}
            : { conversationId: message.routing.conversationId }),
        },
        payload: { type: 'approval_response', data: response },
      })
      .catch(async (error: unknown) => {
        // Another decider stored its decision between the read above and this send: theirs stands.
        if ((await this.#decision(requestId)) !== undefined) return { duplicate: true }
        throw error
      })
    if (!sent.duplicate) return { response, first: true }
    const stored = await this.#decision(requestId)
    if (stored === undefined) throw new Error(`The decision on '${requestId}' vanished`)
    return { response: stored, first: false }
  }

  /** The decision stored for a request, if any. */
  async #decision(requestId: string): Promise<ApprovalResponse | undefined> {
    if (!(await exists(this.#spool, responseIdOf(requestId)))) return undefined
    const stored = await this.#spool.status(responseIdOf(requestId))
    return ApprovalResponseSchema.parse(stored.message.payload?.data)
  }

  /** The audit log: every decision stored, oldest first, optionally only those visible to `agentId`. */
  async audit(agentId?: string): Promise<AuditEntry[]> {
    const messages = await this.#spool.search({ limit: 1000 })
    const entries: AuditEntry[] = []
    for (const message of messages) {
      if (message.payload?.type !== 'approval_response') continue
      const parsed = ApprovalResponseSchema.safeParse(message.payload.data)
      if (!parsed.success) continue
      const response = parsed.data
      const requestId = message.routing.replyTo ?? ''
      if (agentId !== undefined && response.decidedBy !== agentId && message.toAgent !== agentId) continue
      let question = ''
      let action: string | undefined
      try {
        const original = approvalOf((await this.#spool.status(requestId)).message)
        question = original?.question ?? ''
        action = original?.action?.name
      } catch (error) {
        if (!isAgentCommError(error)) throw error
      }
      entries.push({
        requestId,
        responseId: message.id,
        requester: message.toAgent,
        question,
        ...(action === undefined ? {} : { action }),
        decision: response.decision,
        ...(response.comment === undefined ? {} : { comment: response.comment }),
        decidedBy: response.decidedBy,
        decidedAt: response.decidedAt,
        ...(response.arguments === undefined ? {} : { arguments: response.arguments }),
        expired: response.expired === true,
      })
    }
    return entries.sort((a, b) => a.decidedAt.localeCompare(b.decidedAt))
  }

  /**
   * Applies the expiry policy of every open request whose deadline has passed: deny or approve in the
   * name of `system:expiry`, or send an escalated copy to another human or capability (with a new
   * deadline as long as the first, and `deny` on its expiry). Returns how many it handled.
   */
  async sweep(): Promise<number> {
    const now = this.#clock.now()
    let handled = 0
    for (const open of await this.pending(undefined)) {
      const { request, message } = open
      if (request.deadline === undefined || Date.parse(request.deadline) > now) continue
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
        routing: {
          ...(message.routing.conversationId === undefined
            ? {}
            : { conversationId: message.routing.conversationId }),
        },
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
      recipients === undefined ? {} : { recipients },
    )
  }
}
