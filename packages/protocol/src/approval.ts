import { z } from 'zod'
import { DEFAULT_OPERATOR_ID } from './bounds.js'
import { ValidationError } from './errors.js'
import { AgentIdSchema } from './identifiers.js'
import { JsonObjectSchema, JsonValueSchema } from './json-value.js'
import { lazySchema } from './lazy-schema.js'
import { freeText } from './text.js'

const IsoTime = lazySchema(() => z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' }))
const Text = (max: number) => freeText().check(z.trim(), z.minLength(1), z.maxLength(max))

/**
 * What happens to an approval request whose deadline passes with no decision: deny it, approve it, or
 * hand it on to another human agent or capability (`{ escalateTo: "lead" }`, `{ escalateTo: "cap:human-review" }`).
 */
export const ApprovalExpiryPolicySchema = lazySchema(() =>
  z.union([z.literal('deny'), z.literal('approve'), z.strictObject({ escalateTo: Text(128) })]),
)

/** An approval request's expiry policy. */
export type ApprovalExpiryPolicy = z.infer<typeof ApprovalExpiryPolicySchema>

/**
 * `data` of an `approval_request` payload: an agent asks a human to decide before it proceeds
 * (the seed's "Agent requests human approval before proceeding").
 */
export const ApprovalRequestSchema = lazySchema(() =>
  z.strictObject({
    /** What the human is asked, in one or two sentences. */
    question: Text(4096),
    /** The choices offered; a decision must be one of them. Defaults to approve / deny. */
    options: z.array(Text(64)).min(1).max(16).default(['approve', 'deny']),
    /** The action the agent proposes to take once approved, and its arguments (which the human may edit). */
    action: z.strictObject({ name: Text(256), arguments: JsonObjectSchema.optional() }).optional(),
    /** When the request stops waiting for a decision; `onExpiry` says what happens then. */
    deadline: IsoTime.optional(),
    /** Applied when `deadline` passes with no decision. Defaults to `deny`. */
    onExpiry: ApprovalExpiryPolicySchema.default('deny'),
    /** Anything that helps the human decide (links, a diff, the task so far). */
    context: JsonValueSchema.optional(),
  }),
)

/** `data` of an `approval_request` payload, as accepted (defaults not yet applied). */
export type ApprovalRequestInput = z.input<typeof ApprovalRequestSchema>
/** `data` of an `approval_request` payload, with defaults applied. */
export type ApprovalRequest = z.output<typeof ApprovalRequestSchema>

/** `decidedBy` (and sender) of a decision made by an approval request's expiry policy, not by a person. */
export const EXPIRY_DECIDER = 'system:expiry'

/**
 * The agents whose `approval_response` a waiting approval request takes, beside its recipients: the expiry
 * decider and the operator.
 */
export const APPROVAL_DECIDERS: readonly string[] = [EXPIRY_DECIDER, DEFAULT_OPERATOR_ID]

/**
 * `data` of an `approval_response` payload, sent as the reply (`routing.replyTo`) to the request.
 * `decidedBy` is the verified identity that decided (or `system:expiry` when a deadline policy applied),
 * set by the component that authenticated the human, never taken from what a client claims: a message
 * carrying one is accepted only from that agent (see `decidedBySenderProblem`).
 */
export const ApprovalResponseSchema = lazySchema(() =>
  z.strictObject({
    /** One of the request's `options` (`approve` / `deny` by default). */
    decision: Text(64),
    /** The human's comment, returned to the agent. */
    comment: freeText().max(4096).optional(),
    /** The verified identity that made the decision. */
    decidedBy: AgentIdSchema.or(z.literal(EXPIRY_DECIDER)),
    /** When the decision was made. */
    decidedAt: IsoTime,
    /** The action's arguments as edited by the human before approving, when they were changed. */
    arguments: JsonObjectSchema.optional(),
    /** True when no human decided and the request's `onExpiry` policy was applied. */
    expired: z.boolean().optional(),
  }),
)

/** `data` of an `approval_response` payload. */
export type ApprovalResponse = z.infer<typeof ApprovalResponseSchema>

/** The payload part of a message, as {@link approvalDecisionProblem} reads it. */
interface WithPayload {
  payload?: { type: string; data?: unknown } | undefined
}

/**
 * Why `response` (an `approval_response`) cannot answer `request`, or `undefined` when it can (or when
 * either is not an approval message, or the request's data is not an approval request). Its `decision`
 * must be one of the request's `options` — or, for a response marked `expired`, the request's `onExpiry`
 * decision or `deny`. A decision outside them would resolve the waiting request with an answer
 * it never offered (an agent coded `if (decision !== 'deny') proceed()` would act on "maybe").
 */
export function approvalDecisionProblem(request: WithPayload, response: WithPayload): string | undefined {
  if (response.payload?.type !== 'approval_response' || request.payload?.type !== 'approval_request')
    return undefined
  const asked = ApprovalRequestSchema.safeParse(request.payload.data)
  if (!asked.success) return undefined
  const { decision, expired } = (response.payload.data ?? {}) as { decision?: unknown; expired?: unknown }
  const { options, onExpiry } = asked.data
  if (typeof decision === 'string' && options.includes(decision)) return undefined
  // The expiry policy's own decision need not be an option: its `onExpiry`, or `deny` (the default, an
  // escalation with nobody to take it, an escalated copy's expiry) — the outcome that proceeds with nothing.
  if (expired === true && (decision === 'deny' || decision === onExpiry)) return undefined
  return `payload.data.decision must be one of the request's options (${options.map((o) => `'${o}'`).join(', ')}), not ${JSON.stringify(decision)}`
}

/**
 * Throws a `ValidationError` (path `payload.data.decision`) when `response` cannot answer `request` (see
 * {@link approvalDecisionProblem}): checked on send wherever the request is visible (the coordinator, and
 * the spool for a request in its own store, so the relay too), before anything is stored.
 */
export function assertApprovalDecision(request: WithPayload & { id: string }, response: WithPayload): void {
  const problem = approvalDecisionProblem(request, response)
  if (problem === undefined) return
  throw new ValidationError(
    `Invalid approval response to '${request.id}': ${problem}`,
    [{ path: 'payload.data.decision', message: problem.replace(/^payload\.data\.decision /, '') }],
    {
      hint: 'Answer with one of the options the request offers (agent-comm status <request id> shows them).',
    },
  )
}
