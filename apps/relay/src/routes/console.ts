import {
  AgentIdSchema,
  AgentProfileSchema,
  ApprovalRequestSchema,
  ApprovalResponseSchema,
  CAPABILITY_TARGET_PREFIX,
  createMessage,
  freeText,
  InvalidStateError,
  JsonObjectSchema,
  MessageDeliverySchema,
  MessageIdSchema,
  MessageNotFoundError,
  MessageV2Schema,
  PrioritySchema,
  RecipientSchema,
  replyThread,
  SendResultSchema,
  SpoolStatsSchema,
  ValidationError,
} from '@agent-comm/protocol'
import { API_PREFIX } from '@agent-comm/transport-http'
import { z } from 'zod'
import type { Caller } from '../auth.js'
import { type Approvals, MAX_PAGE, type Page } from '../console-approvals.js'
import { ConsoleSessions } from '../console-sessions.js'
import { ConsoleStreams } from '../console-streams.js'
import { mayRead, openEventStream, type RelayContext } from '../context.js'
import { forbidden, HttpProblem } from '../http-errors.js'
import { type RouteDef, routesOf } from '../route-table.js'
import { WindowLimiter } from '../window-limiter.js'

const PREFIX = `${API_PREFIX}/console`

/** How the console decides who may sign in with an agent's secret. */
export interface ConsoleAccess {
  sessions: ConsoleSessions
  /** The admin's id (the operator role) and its secrets given to the relay directly. */
  adminId: string
  adminSecrets: readonly string[]
  /** Approval requests and decisions over the relay's spool. */
  approvals: Approvals
  /** Messages per window over the last hour, counted by the console's store (see ConsoleStore.throughput). */
  throughput: (params: { start: number; bucketMs: number; buckets: number }) => Promise<number[]>
  /** Wakes other processes' console streams after a person's claim or ack (the store's notifyChange). */
  notifyChange?: () => Promise<void>
  /** The stream's slow re-read when nothing wakes it, in ms ({@link STREAM_SAFETY_POLL_MS}). */
  streamSafetyPollMs?: number
  /** Event streams one session may hold open at once in this process (see {@link ConsoleStreams}). */
  maxStreamsPerSession?: number
  /** Event streams open at once in this process, every session's together. */
  maxStreams?: number
}

const SignInSchema = z.union([
  z.strictObject({ agentId: AgentIdSchema, secret: z.string().min(1).max(512) }),
  z.strictObject({ token: z.string().min(1).max(512) }),
])

const SignedInSchema = z.object({
  agentId: z.string(),
  admin: z.boolean(),
  csrfToken: z.string(),
  expiresAt: z.string(),
  /** Send it in X-Console-Key with every request of this session: the cookie alone is not enough. */
  pageKey: z.string(),
})

const SessionSchema = z.object({
  agentId: z.string(),
  admin: z.boolean(),
  csrfToken: z.string(),
  expiresAt: z.string(),
})

const ComposeSchema = z.strictObject({
  /** An agent id, or `capability:<name>`. */
  to: RecipientSchema.optional(),
  subject: freeText().max(200).default(''),
  body: freeText().min(1).max(65_536),
  priority: PrioritySchema.default('normal'),
  /** Reply in the thread of this message (to its sender unless `to` is given). */
  replyTo: MessageIdSchema.optional(),
})

const DecisionSchema = z.strictObject({
  decision: freeText().min(1).max(64),
  comment: freeText().max(4096).optional(),
  arguments: JsonObjectSchema.optional(),
})

const PendingApprovalSchema = z.object({
  requestId: z.string(),
  message: MessageV2Schema,
  request: ApprovalRequestSchema,
})

const AuditEntrySchema = z.object({
  seq: z.number().int(),
  requestId: z.string(),
  responseId: z.string(),
  requester: z.string(),
  question: z.string(),
  action: z.string().optional(),
  decision: z.string(),
  comment: z.string().optional(),
  decidedBy: z.string(),
  decidedAt: z.string(),
  arguments: z.record(z.string(), z.unknown()).optional(),
  expired: z.boolean(),
})

const PageQuery = z.strictObject({
  /** The `next` of the page before. */
  cursor: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
})

const MessageParams = z.strictObject({ messageId: MessageIdSchema })

/** The seed's alert thresholds for the key metrics, highlighted by the console's overview. */
export const CONSOLE_THRESHOLDS = {
  /** Oldest queued delivery older than 5 minutes: consumers are behind. */
  oldestQueuedAgeMs: 300_000,
  /** Oldest lease older than 10 minutes: a consumer is stuck. */
  oldestLeaseAgeMs: 600_000,
  /** More than 5 % of finished deliveries failed. */
  failedRate: 0.05,
  /** More than 1000 queued deliveries. */
  queued: 1000,
}

/** The most messages the console's inbox lists at once. */
const INBOX_LIMIT = 500

/** How long opening a message in the console leases it: a person reading and answering, not a worker. */
const OPEN_LEASE_SECONDS = 600

/** The console stream's slow re-read when nothing wakes it: expired leases and deadlines write nothing. */
const STREAM_SAFETY_POLL_MS = 5000

/** At most one re-read of the console stream per this many ms, however often the spool is written. */
const STREAM_COALESCE_MS = 200

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}

/** True for a person allowed to sign in to the console: registered with `kind: human` or `human-review`. */
function isHuman(profile: z.output<typeof AgentProfileSchema>): boolean {
  return profile.metadata.kind === 'human' || profile.capabilities.includes('human-review')
}

const route = routesOf({ tag: 'console', auth: 'agent', prefix: PREFIX })

/**
 * `GET` of one page of a list, `PageQuery` in: the signed-in agent's part (`agentId`), or all of it for the
 * operator (undefined). The answer holds the page's items under `key` and, when there may be a following
 * page, its cursor as `next`.
 */
function pagedRoute<T extends z.ZodType>(def: {
  url: string
  operationId: string
  summary: string
  description: string
  key: string
  item: T
  page(agentId: string | undefined, query: z.output<typeof PageQuery>): Promise<Page<z.input<T>>>
}): RouteDef {
  return route({
    method: 'GET',
    url: def.url,
    operationId: def.operationId,
    summary: def.summary,
    description: def.description,
    query: PageQuery,
    response: z.object({ [def.key]: z.array(def.item), next: z.string().optional() }),
    async handler({ caller, query }) {
      const page = await def.page(caller.admin ? undefined : caller.agentId, query)
      return { [def.key]: page.items, next: page.next }
    },
  })
}

/**
 * The console's part of the API: sessions (sign in with a human agent's secret or a local one-time
 * token), the inbox with open / done, composing and replying, approvals and their audit log, search,
 * the overview, and one event stream telling the page when to refresh.
 */
export function consoleRoutes(ctx: RelayContext, access: ConsoleAccess): RouteDef[] {
  const { spool, registry, clock } = ctx
  const { sessions, approvals } = access
  const safetyPollMs = access.streamSafetyPollMs ?? STREAM_SAFETY_POLL_MS
  // Sign-in guesses are limited per agent id and client address (20 failures a minute), whatever the
  // relay's other limits: guessing one person's secret is slowed down, while a stranger sharing the address
  // (NAT, proxy, same host) guessing other ids cannot keep that person from signing in. Relay secrets are
  // random (256 bits), so the per-id limit is ample against guessing them.
  const signInFailures = new WindowLimiter({ max: 20, timeWindowMs: 60_000 }, clock)
  const streams = new ConsoleStreams({ perSession: access.maxStreamsPerSession, total: access.maxStreams })

  /**
   * Leases `messageId` — that message only — to `agentId` for {@link OPEN_LEASE_SECONDS}: "Done" acks it;
   * closing the page without it lets the lease run out, and the message is claimable again. False when
   * the delivery is not waiting (acked or dead-lettered): nothing to open.
   */
  const open = async (agentId: string, messageId: string): Promise<boolean> => {
    const status = await spool.status(messageId)
    const delivery = status.deliveries.find((d) => d.recipient === agentId)
    if (delivery === undefined) throw new MessageNotFoundError(messageId)
    if (delivery.status !== 'queued' && delivery.status !== 'leased') return false
    // Undefined when it is leased (already open) and its lease still runs: nothing to do.
    const claimed = await spool.claimMessage(agentId, messageId, { leaseSeconds: OPEN_LEASE_SECONDS })
    if (claimed !== undefined) await announce()
    return true
  }

  /** Wakes the console pages of other processes sharing the database (see ConsoleStore.notifyChange). */
  const announce = async (): Promise<void> => {
    await access.notifyChange?.()
  }

  const visibleMessages = (caller: Caller, query: { text?: string; limit: number }) =>
    spool.search(caller.admin ? query : { ...query, visibleTo: caller.agentId })

  const requireApproval = async (caller: Caller, messageId: string) => {
    const status = await spool.status(messageId)
    const mine = status.deliveries.some((d) => d.recipient === caller.agentId)
    if (!caller.admin && !mine) throw new MessageNotFoundError(messageId)
    return status.message
  }

  return [
    route({
      method: 'POST',
      url: '/session',
      operationId: 'consoleSignIn',
      summary: 'Sign in to the console: a human agent with its relay secret, or a one-time login token',
      description:
        'Only the admin and agents registered with `metadata.kind: "human"` or the capability `human-review` may sign in. Sets the HttpOnly, SameSite=Strict session cookie (Secure behind TLS) and returns the CSRF token every state change must send in X-CSRF-Token, and the page key every request with the cookie must send in X-Console-Key (returned only here: a server on another port of the host, which receives the cookie, cannot obtain it).',
      auth: 'none',
      body: SignInSchema,
      response: SignedInSchema,
      errors: [401, 429],
      async handler({ body, request, reply }) {
        // One-time tokens share one key per address: there is no id to tell their guessers apart.
        const limitKey = `${'token' in body ? 'token:' : `agent:${body.agentId}`}@${request.ip}`
        const waitMs = signInFailures.retryAfterMs(limitKey)
        if (waitMs > 0) {
          const seconds = Math.ceil(waitMs / 1000)
          throw new HttpProblem(
            429,
            'RATE_LIMITED',
            `Too many failed sign-ins ${'token' in body ? 'with a login token' : `as '${body.agentId}'`} from this address; wait ${seconds} s`,
            {
              hint: 'Check the agent id and its relay secret, then sign in again after the wait.',
              headers: { 'retry-after': String(seconds) },
            },
          )
        }
        let identity: { agentId: string; admin: boolean } | undefined
        if ('token' in body) {
          identity = sessions.redeemLoginToken(body.token)
        } else {
          const admin = body.agentId === access.adminId
          const valid = [
            ...(await ctx.secrets.secretsFor(body.agentId)),
            ...(admin ? access.adminSecrets : []),
          ]
          if (valid.length > 0 && ConsoleSessions.secretMatches(body.secret, valid)) {
            const profile = admin ? undefined : await registry.get(body.agentId)
            if (admin || (profile !== undefined && isHuman(profile)))
              identity = { agentId: body.agentId, admin }
          }
        }
        if (identity === undefined) {
          signInFailures.fail(limitKey)
          throw new HttpProblem(
            401,
            'UNAUTHENTICATED',
            'Sign-in refused: unknown agent, wrong secret, a used or unknown token, or an agent that is not a person',
            {
              hint: 'Sign in as the admin or as an agent registered with metadata kind "human" or capability human-review, with its relay secret.',
            },
          )
        }
        // @fastify/csrf-protection makes the session's CSRF secret (kept with the session) and a token of it.
        request.session = {}
        const csrfToken = reply.generateCsrf()
        const csrfSecret = request.session._csrf
        if (csrfSecret === undefined) throw new Error('@fastify/csrf-protection made no CSRF secret')
        const { cookie, session } = await sessions.create(identity.agentId, identity.admin, csrfSecret)
        reply.setCookie(sessions.cookieName, cookie, {
          httpOnly: true,
          sameSite: 'strict',
          secure: request.protocol === 'https',
          path: '/',
          maxAge: Math.floor(sessions.ttlMs / 1000),
        })
        return {
          agentId: session.agentId,
          admin: session.admin,
          csrfToken,
          expiresAt: new Date(session.expiresAt).toISOString(),
          pageKey: ConsoleSessions.pageKey(session),
        }
      },
    }),
    route({
      method: 'GET',
      url: '/session',
      operationId: 'consoleSession',
      summary: 'The signed-in console session: who, whether operator, and its CSRF token',
      response: SessionSchema,
      async handler({ request, reply }) {
        const session = await sessions.find(request.cookies[sessions.cookieName])
        if (session === undefined) throw forbidden('This request has no console session', 'Sign in first.')
        return {
          agentId: session.agentId,
          admin: session.admin,
          // A fresh token of the session's secret (each token is salted; any of them is valid).
          csrfToken: reply.generateCsrf(),
          expiresAt: new Date(session.expiresAt).toISOString(),
        }
      },
    }),
    route({
      method: 'DELETE',
      url: '/session',
      operationId: 'consoleSignOut',
      summary: 'Sign out: ends the session and clears its cookie',
      async handler({ request, reply }) {
        await sessions.destroy(request.cookies[sessions.cookieName])
        reply.clearCookie(sessions.cookieName, { path: '/' })
        return undefined
      },
    }),
    route({
      method: 'GET',
      url: '/inbox',
      operationId: 'consoleInbox',
      summary:
        "The signed-in agent's waiting messages (approval requests excepted), most urgent then newest first, at most 500",
      description:
        '`more: true` says that more messages wait than the list holds: the oldest of the least urgent are left out until some are done.',
      response: z.object({ items: z.array(MessageDeliverySchema), more: z.boolean() }),
      async handler({ caller }) {
        // Newest first from the store, so the newest are on the page however many wait; one more than
        // shown tells whether the list was cut.
        const pending = await spool.pending(caller.agentId, { limit: INBOX_LIMIT + 1, newestFirst: true })
        const items = pending.filter((p) => p.message.payload?.type !== 'approval_request')
        return { items: items.slice(0, INBOX_LIMIT), more: pending.length > INBOX_LIMIT }
      },
    }),
    route({
      method: 'POST',
      url: '/inbox/:messageId/open',
      operationId: 'consoleOpen',
      summary:
        'Open a message: lease it (and only it) to the signed-in agent for 10 minutes so no one else works on it',
      params: MessageParams,
      errors: [404],
      async handler({ params, caller }) {
        await open(caller.agentId, params.messageId)
        return undefined
      },
    }),
    route({
      method: 'POST',
      url: '/inbox/:messageId/done',
      operationId: 'consoleDone',
      summary: 'Mark a message done: opens it if needed, then acks it',
      description:
        'An approval request not decided yet is refused (409 INVALID_STATE): done without a decision, its requester would get no answer. Decide it on the Approvals page (`POST /console/approvals/{messageId}/decision`), which marks it done. (An agent that acks it through the API does not take it off the Approvals page: it stays there until decided.)',
      params: MessageParams,
      errors: [404, 409],
      async handler({ params, caller }) {
        const status = await spool.status(params.messageId)
        if (!status.deliveries.some((d) => d.recipient === caller.agentId)) {
          throw new MessageNotFoundError(params.messageId)
        }
        if (await approvals.awaitsDecision(status.message)) {
          throw new InvalidStateError(
            `Message '${params.messageId}' is an approval request not decided yet: decide it on the Approvals page (marking it done would drop it without an answer to its requester)`,
            { hint: 'Open the Approvals page and approve or deny it there; deciding marks it done.' },
          )
        }
        await open(caller.agentId, params.messageId)
        await spool.ack(params.messageId, caller.agentId)
        await announce()
        return undefined
      },
    }),
    route({
      method: 'POST',
      url: '/messages',
      operationId: 'consoleSend',
      summary:
        'Send a message as the signed-in agent: to an agent or `capability:<name>`, or as a reply in a thread',
      body: ComposeSchema,
      response: SendResultSchema,
      errors: [404],
      async handler({ body, caller }) {
        let to = body.to
        let routing: { replyTo?: string; conversationId?: string } = {}
        let subject = body.subject
        if (body.replyTo !== undefined) {
          const original = await spool.status(body.replyTo)
          if (!mayRead(caller, original)) throw new MessageNotFoundError(body.replyTo)
          to ??= original.message.fromAgent
          const thread = replyThread(original.message)
          routing = thread.routing
          if (subject === '') subject = thread.subject
        }
        if (to === undefined) {
          throw new ValidationError('Invalid message: give a recipient (to) or a message to reply to', [
            { path: 'to', message: 'required without replyTo' },
          ])
        }
        const message = createMessage(
          {
            fromAgent: caller.agentId,
            toAgent: to,
            subject,
            body: body.body,
            priority: body.priority,
            routing,
          },
          { clock },
        )
        let recipients: string[] | undefined
        if (to.startsWith(CAPABILITY_TARGET_PREFIX)) {
          const capability = to.slice(CAPABILITY_TARGET_PREFIX.length)
          recipients = (await registry.findByCapability(capability))
            .map((p) => p.agentId)
            .filter((id) => id !== caller.agentId)
          if (recipients.length === 0) {
            throw new HttpProblem(404, 'AGENT_NOT_FOUND', `No agent has the capability '${capability}'`, {
              hint: 'Check the capability on the Agents page.',
            })
          }
        }
        return spool.send(message, { recipients })
      },
    }),
    route({
      method: 'GET',
      url: '/stream',
      operationId: 'consoleEvents',
      summary:
        "Server-sent events: a `change` event whenever the signed-in agent's inbox or approvals (the whole relay's queue, for the operator) change",
      stream: true,
      async handler({ caller, request, reply }) {
        // Taken before the stream opens, so a refusal is a plain 429; a signed request counts as its agent's.
        const release = streams.hold(sessions.sessionIdOf(request) ?? `agent:${caller.agentId}`)
        const { res, signal, end } = openEventStream(request, reply, ctx.shutdown, release)
        // The fingerprint is re-read when the spool reports a change (a write of the relay, or another
        // process's commit seen by the store's change feed) and at least every STREAM_SAFETY_POLL_MS: the
        // wake-up is a hint, the read is the truth (leases and deadlines run out without any write).
        const fingerprint = async (): Promise<string> => {
          const pending = await spool.pending(caller.agentId, { limit: 500 })
          const open = (
            await approvals.pending(caller.admin ? undefined : caller.agentId, { limit: MAX_PAGE })
          ).items
          // Open approvals too: a decision made elsewhere or by a deadline leaves the person's delivery queued.
          const mine = [
            ...pending.map((p) => `${p.message.id}:${p.delivery.status}`),
            ...open.map((a) => `approval:${a.message.id}`),
          ].join(',')
          if (!caller.admin) return mine
          const stats = await spool.stats()
          return `${mine}|${JSON.stringify(stats.deliveries)}|${stats.totalMessages}`
        }
        let last = ''
        let idle = 0
        try {
          while (!signal.aborted) {
            // Waiting starts before the read, so a change committed while reading still wakes the loop.
            const changed = spool.waitForChange({ timeoutMs: safetyPollMs, signal })
            const now = await fingerprint()
            if (now !== last) {
              last = now
              res.write(`event: change\ndata: {}\n\n`)
            } else if (++idle % 3 === 0) {
              res.write(': keep-alive\n\n')
            }
            // A busy relay writes often: changes within STREAM_COALESCE_MS are read together.
            if ((await changed) && !signal.aborted) await pause(STREAM_COALESCE_MS, signal)
          }
        } catch (error) {
          if (!signal.aborted) request.log.error({ err: error }, 'console event stream failed')
        } finally {
          release()
          end()
        }
        return undefined
      },
    }),
    pagedRoute({
      url: '/approvals',
      operationId: 'consoleApprovals',
      summary:
        "Open approval requests, oldest first, a page at a time: the signed-in agent's, or every one for the operator",
      description:
        'Pass the `next` of a page as `cursor` for the following page; a page without `next` is the last.',
      key: 'approvals',
      item: PendingApprovalSchema,
      page: (agentId, query) => approvals.pending(agentId, query),
    }),
    route({
      method: 'POST',
      url: '/approvals/:messageId/decision',
      operationId: 'consoleDecide',
      summary:
        'Decide an approval request as the signed-in agent; the first decision wins (a later one returns it with first: false)',
      description:
        'The decision is sent to the requester as an `approval_response` reply (routing.replyTo = the request id) with decidedBy set to the verified identity.',
      params: MessageParams,
      body: DecisionSchema,
      response: z.object({ response: ApprovalResponseSchema, first: z.boolean() }),
      errors: [404],
      async handler({ params, body, caller, request }) {
        const message = await requireApproval(caller, params.messageId)
        const result = await approvals.decide(message, body, caller.agentId)
        // The person's own delivery of the request is done once it is decided (unless it is not waiting: a
        // dead-lettered request stays open until decided).
        try {
          if (await open(caller.agentId, message.id)) {
            await spool.ack(message.id, caller.agentId)
            await announce()
          }
        } catch (error) {
          request.log.warn({ err: error, messageId: message.id }, 'could not mark the decided request done')
        }
        return result
      },
    }),
    pagedRoute({
      url: '/approvals/audit',
      operationId: 'consoleAudit',
      summary:
        'The audit log of approval decisions, oldest first, a page at a time: who decided what and when (all for the operator)',
      description:
        'Read from the append-only audit table, which outlives the messages (cleanup never removes it). Pass the `next` of a page as `cursor` for the following page.',
      key: 'entries',
      item: AuditEntrySchema,
      page: (agentId, query) => approvals.audit(agentId, query),
    }),
    route({
      method: 'GET',
      url: '/search',
      operationId: 'consoleSearch',
      summary:
        'Full-text search over the messages the signed-in agent sent or received (all for the operator)',
      query: z.strictObject({
        text: freeText().max(1024).optional(),
        limit: z.coerce.number().int().min(1).max(500).optional(),
      }),
      response: z.object({ messages: z.array(MessageV2Schema) }),
      async handler({ query, caller }) {
        const messages = await visibleMessages(caller, {
          text: query.text?.trim() === '' ? undefined : query.text,
          limit: query.limit ?? 100,
        })
        return { messages }
      },
    }),
    route({
      method: 'GET',
      url: '/overview',
      operationId: 'consoleOverview',
      summary:
        'Key metrics for the operator: queue by status, messages sent per 5 minutes over the last hour, ages, failure rate and alert thresholds',
      auth: 'admin',
      response: z.object({
        stats: SpoolStatsSchema,
        throughput: z.array(z.object({ start: z.string(), messages: z.number().int() })),
        thresholds: z.record(z.string(), z.number()),
        agents: z.array(AgentProfileSchema),
      }),
      async handler() {
        const now = clock.now()
        const bucketMs = 300_000
        const start = now - 12 * bucketMs
        const counts = await access.throughput({ start, bucketMs, buckets: 12 })
        return {
          stats: await spool.stats(),
          throughput: counts.map((messages, i) => ({
            start: new Date(start + i * bucketMs).toISOString(),
            messages,
          })),
          thresholds: CONSOLE_THRESHOLDS,
          agents: await registry.list(),
        }
      },
    }),
  ]
}
