import { randomUUID } from 'node:crypto'
import { type A2AStore, a2aPlugin, type Sealer } from '@agent-comm/a2a'
import type { Clock } from '@agent-comm/protocol'
import { parseOrThrow, ValidationError } from '@agent-comm/protocol'
import type { Registry } from '@agent-comm/registry'
import type { Spool } from '@agent-comm/spool'
import { AUDIENCE_PATTERN, DEFAULT_AUTH_WINDOW_MS, RelayErrorCode } from '@agent-comm/transport-http'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import { z } from 'zod'
import { Authenticator, AuthFailure, type Caller } from './auth.js'
import { mountConsole, type RelayConsoleOptions } from './console-mount.js'
import type { ConsoleStore } from './console-store.js'
import type { RelayContext, RelaySecrets } from './context.js'
import { RELAY_DEFAULTS } from './defaults.js'
import { forbidden, HttpProblem, toErrorReply } from './http-errors.js'
import { RelayMetrics } from './metrics.js'
import type { NonceStore } from './nonces.js'
import { openApiDocument } from './openapi.js'
import { ParkedPolls } from './parked-polls.js'
import { type AuthLevel, parseJsonBody, type RouteDef } from './route-table.js'
import { adminRoutes } from './routes/admin.js'
import { agentRoutes } from './routes/agents.js'
import { deliveryRoutes } from './routes/deliveries.js'
import { messageRoutes } from './routes/messages.js'
import { systemRoutes } from './routes/system.js'
import { registerTracing } from './tracing.js'
import { RELAY_VERSION } from './version.js'
import { WindowLimiter } from './window-limiter.js'
import { type ZodTypeProvider, zodValidatorCompiler } from './zod-type-provider.js'

/** Tunables of a relay; every one has a default. */
export interface RelayOptions {
  /** Largest accepted distance between a request's timestamp and the relay's clock, in ms (300 000). */
  authWindowMs?: number
  /** Largest request body, in bytes (1 MiB); larger ones get 413. */
  bodyLimitBytes?: number
  /**
   * Work units per agent per window (6000 a minute), or `false` for none; over it, 429. A request costs
   * one unit, and a send one per delivery it creates (a message to one agent: one; a broadcast to 50
   * agents: 50), so fan-out is paid for. Requests refused by validation still cost their unit.
   */
  rateLimit?: { max: number; timeWindowMs: number } | false
  /** Most distinct recipients of one message, given or resolved from `*` / `capability:` (1000); over it, 400. */
  maxRecipientsPerMessage?: number
  /** Most deliveries one send request may create (5000, and at most `rateLimit.max`); over it, 413. */
  maxDeliveriesPerRequest?: number
  /**
   * Deliveries written per transaction (500): a larger batch is stored in several, the event loop yielded
   * between them, so one agent's fan-out never holds the relay for long.
   */
  chunkDeliveries?: number
  /**
   * Failed authentications per client address per window (100 a minute), or `false` for no limit. Over
   * it, requests from that address that are not correctly signed by a known agent get 429 until the
   * window ends, without a signature check unless they name a known agent; correctly signed ones pass.
   */
  authFailureLimit?: { max: number; timeWindowMs: number } | false
  /**
   * The relay's name in signatures (none), shared by its replicas: requests signed with version 2 for this
   * audience pass, those signed for another relay are refused. Clients set the same `audience`.
   */
  audience?: string
  /** Refuse version 1 signatures, which are not bound to any relay (false; needs `audience`). */
  requireAudience?: boolean
  /** The operator identity: its agent id (`admin`) and secrets besides any in the secret store. */
  admin?: { agentId?: string; secrets?: readonly string[] }
  /** How often an idle event stream sends a keep-alive comment, in ms (15 000). */
  streamKeepAliveMs?: number
  /**
   * Take client addresses from `X-Forwarded-For` (false): `true` trusts any proxy, a string only the
   * comma-separated proxy addresses or CIDR ranges. Set it behind a reverse proxy, or every client has the
   * proxy's address (and shares its failed-authentication limit).
   */
  trustProxy?: boolean | string
  /** The human console at `/console` and its API (served by default; `{ enabled: false }` for none). */
  console?: RelayConsoleOptions
  /**
   * A2A push webhooks: by default only public addresses get pushes (no loopback, private, link-local,
   * unspecified or multicast address). `pushAllowHosts` allows those hosts whatever they resolve to, and
   * the addresses in its CIDR ranges and IP literals; `pushAllowPrivate` allows every address (tests, a
   * relay inside a trusted network).
   */
  a2a?: { pushAllowPrivate?: boolean; pushAllowHosts?: readonly string[] }
}

/** What a relay is built from: injected so tests use a fake clock, temp files and captured logs. */
export interface RelayDeps {
  spool: Spool
  /**
   * The registry, usually in the spool's database (`Registry.open({ spool, releaseHeldTo:
   * 'all-agents' })`, so every agent registering with the relay gets the held messages it matches).
   */
  registry: Registry
  /** Agents' secrets: a `SecretStore` from `@agent-comm/secrets`. */
  secrets: RelaySecrets
  /**
   * Where nonces are kept, built by the composition root (`startRelay` uses a `SqliteNonceStore` on
   * the spool's file). It must keep each nonce at least `options.authWindowMs` past its timestamp: pruned
   * any earlier, a request still inside the window could be replayed.
   */
  nonces: NonceStore
  /**
   * Readiness: resolves while the database answers (default: one indexed read through the spool's store).
   * `GET /api/v1/health/ready` answers 503 when it rejects, so a load balancer takes the replica out.
   */
  ready?: () => Promise<void>
  /** The A2A endpoint's store; needed when the spool is not on SQLite (`PostgresA2AStore`). */
  a2aStore?: A2AStore
  /**
   * Seals the A2A push-signing key in the database (the relay's secrets key). Given, pushes are signed
   * (JWS, ES256) and the public keys are served at `/.well-known/jwks.json`; without it, unsigned.
   */
  a2aSealer?: Sealer
  /**
   * Where the console keeps sessions and its audit log when the spool is not on SQLite (on SQLite, its
   * tables go in the spool's file): `openPostgresConsoleStore(…)` of `@agent-comm/postgres`. The relay
   * closes it.
   */
  consoleStore?: ConsoleStore
  /** The relay's time for auth windows and nonce expiry (default: the spool's clock). */
  clock?: Clock
  /** A pino logger (see `createRelayLogger`); none by default. */
  logger?: FastifyBaseLogger
  options?: RelayOptions
}

/** A count per window, or `false` for no limit. */
const LimitSchema = z.union([
  z.literal(false),
  z.object({ max: z.number().int().min(1), timeWindowMs: z.number().int().min(1) }),
])

const RelayOptionsSchema = z
  .object({
    authWindowMs: z
      .number()
      .int()
      .min(1_000)
      .max(RELAY_DEFAULTS.maxAuthWindowSeconds * 1000)
      .default(DEFAULT_AUTH_WINDOW_MS),
    bodyLimitBytes: z
      .number()
      .int()
      .min(RELAY_DEFAULTS.minBodyLimitBytes)
      .max(RELAY_DEFAULTS.maxBodyLimitBytes)
      .default(RELAY_DEFAULTS.bodyLimitBytes),
    rateLimit: LimitSchema.default({ max: RELAY_DEFAULTS.rateLimitPerMinute, timeWindowMs: 60_000 }),
    authFailureLimit: LimitSchema.default({
      max: RELAY_DEFAULTS.authFailuresPerMinute,
      timeWindowMs: 60_000,
    }),
    maxRecipientsPerMessage: z
      .number()
      .int()
      .min(1)
      .max(RELAY_DEFAULTS.maxRecipientsLimit)
      .default(RELAY_DEFAULTS.maxRecipientsPerMessage),
    maxDeliveriesPerRequest: z
      .number()
      .int()
      .min(1)
      .max(RELAY_DEFAULTS.maxDeliveriesLimit)
      .default(RELAY_DEFAULTS.maxDeliveriesPerRequest),
    chunkDeliveries: z.number().int().min(1).max(100_000).default(500),
    admin: z
      .object({
        agentId: z.string().min(1).default(RELAY_DEFAULTS.adminId),
        secrets: z.array(z.string().min(16, 'must be at least 16 characters')).default([]),
      })
      .default({ agentId: RELAY_DEFAULTS.adminId, secrets: [] }),
    streamKeepAliveMs: z.number().int().min(10).default(15_000),
    audience: z
      .string()
      .regex(AUDIENCE_PATTERN, 'must be 1-256 printable characters without spaces')
      .optional(),
    requireAudience: z.boolean().default(false),
    trustProxy: z.union([z.boolean(), z.string().min(1)]).default(false),
    a2a: z
      .object({
        /** Push webhooks on loopback/private/link-local addresses allowed (tests, trusted networks). */
        pushAllowPrivate: z.boolean().default(false),
        /** Push webhook hosts allowed whatever they resolve to. */
        pushAllowHosts: z.array(z.string().min(1)).default([]),
      })
      .default({ pushAllowPrivate: false, pushAllowHosts: [] }),
    console: z
      .object({
        enabled: z.boolean().optional(),
        sessionTtlMs: z.number().int().min(1000).optional(),
        sweepIntervalMs: z.number().int().min(10).optional(),
        streamSafetyPollMs: z.number().int().min(100).optional(),
      })
      .default({}),
  })
  .refine((o) => !o.requireAudience || o.audience !== undefined, {
    message: 'requireAudience needs an audience',
    path: ['requireAudience'],
  })

const ANONYMOUS: Caller = { agentId: '', admin: false }

/**
 * Builds the relay: a fastify instance serving `/api/v1` over the injected spool, registry and secrets,
 * not yet listening (call `listen`, or `inject` in tests). Closing it ends long polls and event streams
 * and waits for requests in flight; the spool, registry and secret store stay open for their owner.
 */
export async function createRelay(deps: RelayDeps): Promise<FastifyInstance> {
  const options = parseOrThrow(RelayOptionsSchema, deps.options ?? {}, 'relay options')
  const clock = deps.clock ?? deps.spool.clock
  const nonces = deps.nonces
  const metrics = new RelayMetrics()
  const failures =
    options.authFailureLimit === false ? undefined : new WindowLimiter(options.authFailureLimit, clock)
  const perAgent = options.rateLimit === false ? undefined : new WindowLimiter(options.rateLimit, clock)
  /** Charges `units` of `caller`'s rate limit, or throws 429. */
  const charge = (caller: Caller, units: number): void => {
    if (perAgent === undefined || units <= 0) return
    const retryAfterMs = perAgent.take(`agent:${caller.agentId}`, units)
    if (retryAfterMs === 0) return
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
    const { max, timeWindowMs } = perAgent.limit
    throw new HttpProblem(
      429,
      RelayErrorCode.RATE_LIMITED,
      `Too many requests from this agent: at most ${max} units per ${Math.round(timeWindowMs / 1000)} s (a request is one, a send one per delivery); this one needs ${units} more`,
      {
        hint: `Retry after ${seconds} s; batch acks, long-poll instead of polling, and send broadcasts less often.`,
        headers: { 'retry-after': String(seconds) },
        details: { limit: max, timeWindowMs, units },
      },
    )
  }
  const closing = new AbortController()
  const callers = new WeakMap<FastifyRequest, Caller>()
  const authenticator = new Authenticator({
    secrets: deps.secrets,
    nonces,
    clock,
    windowMs: options.authWindowMs,
    adminId: options.admin.agentId,
    adminSecrets: options.admin.secrets,
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    requireAudience: options.requireAudience,
  })

  const app = Fastify({
    ...(deps.logger === undefined ? { logger: false } : { loggerInstance: deps.logger }),
    bodyLimit: options.bodyLimitBytes,
    // Ids may be 128 characters, and a client may percent-encode each (':' and '@' become three):
    // fastify's default of 100 would answer a long but valid id with 414. The schemas bound them exactly.
    routerOptions: { maxParamLength: 1024 },
    trustProxy: options.trustProxy,
    // One line per request, written by the onResponse hook below with the route and agent.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    frameworkErrors: (error, request, reply) => {
      const mapped = toErrorReply(error, String(request.id))
      ;(reply as FastifyReply).code(mapped.status).send(mapped.body)
    },
  }) as unknown as FastifyInstance

  // Bodies are kept as raw bytes: the signature covers their exact SHA-256, and JSON is parsed only after
  // the request proved who sent it. Anything but JSON is 415.
  app.setValidatorCompiler(zodValidatorCompiler)
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  )

  app.addHook('preClose', (done) => {
    closing.abort()
    done()
  })
  // After the last request: nonces still waiting for their group commit are written before the database closes.
  app.addHook('onClose', async () => {
    await nonces.flush()
  })
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    // While shutting down, answers in flight close their connection: a keep-alive socket left idle would
    // hold the server open until the client happened to drop it.
    if (closing.signal.aborted) reply.header('connection', 'close')
    done(null, payload)
  })
  registerTracing(app)
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000)
    const caller = callers.get(request)
    request.log.info(
      {
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(caller === undefined ? {} : { agentId: caller.agentId }),
      },
      'request completed',
    )
    done()
  })

  app.setErrorHandler((error, request, reply) => {
    const mapped = toErrorReply(error, String(request.id))
    if (mapped.serverFault) request.log.error({ err: error }, 'request failed')
    if (mapped.headers !== undefined) reply.headers(mapped.headers)
    return reply.code(mapped.status).send(mapped.body)
  })
  app.setNotFoundHandler((request, reply) => {
    const path = (request.raw.url ?? '').split('?')[0]
    return reply.code(404).send({
      error: {
        code: RelayErrorCode.NOT_FOUND,
        message: `No endpoint ${request.method} ${path}`,
        hint: 'The API is under /api/v1; GET /api/v1/openapi.json lists every endpoint.',
      },
    })
  })

  const authenticate = (level: AuthLevel) => async (request: FastifyRequest) => {
    const signed = {
      method: request.method,
      url: request.raw.url ?? request.url,
      headers: request.headers,
      body: Buffer.isBuffer(request.body) ? request.body : undefined,
    }
    const retryAfterMs = failures?.retryAfterMs(request.ip) ?? 0
    let caller: Caller
    const session = await consoleMount.callerOf(request)
    if (session !== undefined) {
      // A console page signed in with its session cookie (CSRF checked on changes); no signature to check.
      caller = session
    } else if (retryAfterMs > 0) {
      // An address is not a person: behind a NAT, a proxy or on a shared host, a stranger's bad requests
      // must not lock out agents that sign correctly. So over the limit a request is still checked, but
      // cheaply: malformed headers, stale timestamps and unknown agents are refused before any HMAC, and
      // only a request naming a real agent costs a verification. Failures are neither logged nor counted
      // again (the address is already refused), so the flood costs no log lines.
      try {
        caller = await authenticator.authenticate(signed, { knownAgentsOnly: true })
      } catch (error) {
        if (!(error instanceof AuthFailure)) throw error
        metrics.authFailure('blocked')
        const seconds = Math.ceil(retryAfterMs / 1000)
        throw new HttpProblem(
          429,
          RelayErrorCode.RATE_LIMITED,
          `Too many failed authentications from this address: unsigned or wrongly signed requests are refused for ${seconds} s`,
          {
            hint: "Check the agent's secret (agent-comm relay gen-secret) and this machine's clock, then retry.",
            headers: { 'retry-after': String(seconds) },
          },
        )
      }
    } else {
      try {
        caller = await authenticator.authenticate(signed)
      } catch (error) {
        if (error instanceof AuthFailure) {
          metrics.authFailure(error.reason)
          if (failures?.fail(request.ip) === true) {
            request.log.warn(
              { ip: request.ip, ...failures.limit },
              'too many failed authentications: address refused until its window ends',
            )
          }
          request.log.warn(
            {
              reason: error.reason,
              agentId: error.claimedAgent,
              route: request.routeOptions.url,
              ip: request.ip,
            },
            'authentication failed',
          )
        }
        throw error
      }
    }
    // Its nonce is written before the request has any effect: a crash now cannot let it be replayed.
    if (session === undefined) await nonces.whenDurable?.()
    callers.set(request, caller)
    // Charged here, before the body is validated: an invalid request costs the relay work too, so it
    // counts like any other (it used to slip past a limit checked after validation).
    charge(caller, 1)
    if (level === 'admin' && !caller.admin) {
      throw forbidden(`Only the relay's admin may call ${request.method} ${request.routeOptions.url}`)
    }
    if (!caller.admin) touch(caller.agentId, request)
  }

  // Presence: every authenticated request is a sign of life. The registry writes lastSeen at most once a
  // second anyway; remembering when we last asked spares it the read on every request of a busy agent.
  const lastTouched = new Map<string, number>()
  const touch = (agentId: string, request: FastifyRequest): void => {
    const now = clock.now()
    const last = lastTouched.get(agentId)
    if (last !== undefined && now - last < 1000 && now >= last) return
    if (lastTouched.size > 10_000) lastTouched.clear()
    lastTouched.set(agentId, now)
    deps.registry.touch(agentId).catch((error: unknown) => {
      request.log.warn({ err: error, agentId }, 'could not record presence')
    })
  }

  const ctx: RelayContext = {
    spool: deps.spool,
    registry: deps.registry,
    secrets: deps.secrets,
    clock,
    metrics,
    shutdown: closing.signal,
    parked: new ParkedPolls(deps.spool),
    ready:
      deps.ready ??
      (async () => {
        await deps.spool.store.hasClaimable({ recipient: 'relay.health-probe', now: deps.spool.clock.now() })
      }),
    settings: { streamKeepAliveMs: options.streamKeepAliveMs, version: RELAY_VERSION },
    fanOut: {
      maxRecipientsPerMessage: options.maxRecipientsPerMessage,
      // A request over the whole rate limit could never pass: say so as a size limit instead of a 429 forever.
      maxDeliveriesPerRequest:
        options.rateLimit === false
          ? options.maxDeliveriesPerRequest
          : Math.min(options.maxDeliveriesPerRequest, options.rateLimit.max),
      chunkDeliveries: options.chunkDeliveries,
    },
    charge,
  }
  const consoleMount = await mountConsole(
    app,
    ctx,
    { adminId: options.admin.agentId, adminSecrets: options.admin.secrets },
    { ...options.console, ...(deps.consoleStore === undefined ? {} : { store: deps.consoleStore }) },
  )
  const routes: RouteDef[] = []
  let document: Record<string, unknown> | undefined
  routes.push(
    ...systemRoutes(ctx, () => {
      document ??= openApiDocument(routes, { version: RELAY_VERSION })
      return document
    }),
    ...messageRoutes(ctx),
    ...deliveryRoutes(ctx),
    ...agentRoutes(ctx),
    ...adminRoutes(ctx),
    ...consoleMount.routes,
  )
  for (const def of routes) mount(app, def, def.auth === 'none' ? undefined : authenticate(def.auth), callers)

  await app.register(a2aPlugin, {
    spool: deps.spool,
    registry: deps.registry,
    clock,
    version: RELAY_VERSION,
    push: {
      policy: { allowPrivate: options.a2a.pushAllowPrivate, allowHosts: options.a2a.pushAllowHosts },
      ...(deps.a2aSealer === undefined ? {} : { signing: { sealer: deps.a2aSealer } }),
    },
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    ...(deps.a2aStore === undefined ? {} : { store: deps.a2aStore }),
  })

  app.get('/metrics', async (request, reply) => {
    let queue: Awaited<ReturnType<Spool['stats']>> | undefined
    try {
      queue = await deps.spool.stats()
    } catch (error) {
      request.log.warn({ err: error }, 'metrics could not read the spool')
    }
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render(queue))
  })

  return app
}

function mount(
  app: FastifyInstance,
  def: RouteDef,
  authenticate: ((request: FastifyRequest) => Promise<void>) | undefined,
  callers: WeakMap<FastifyRequest, Caller>,
): void {
  app.withTypeProvider<ZodTypeProvider>().route({
    method: def.method,
    url: def.url,
    // Validated by fastify with the route's zod schemas (zodValidatorCompiler), after preValidation below.
    schema: {
      ...(def.params === undefined ? {} : { params: def.params }),
      ...(def.query === undefined ? {} : { querystring: def.query }),
      ...(def.body === undefined ? {} : { body: def.body }),
    },
    // Who is asking first, then the body: JSON is parsed only once the signature over its raw bytes holds.
    preValidation: async (request) => {
      if (authenticate !== undefined) await authenticate(request)
      const body = parseJsonBody(request.body)
      if (def.body === undefined && body !== undefined) {
        throw new ValidationError('Invalid request body: this endpoint takes no body', [
          { path: '(root)', message: 'must be empty' },
        ])
      }
      request.body = body
    },
    handler: async (request, reply) => {
      const result = await def.handler({
        params: request.params,
        query: request.query,
        body: request.body,
        caller: callers.get(request) ?? ANONYMOUS,
        request,
        reply,
      })
      if (def.stream) return reply
      if (reply.statusCode === 200) reply.code(def.status ?? (def.response === undefined ? 204 : 200))
      return def.response === undefined ? reply.send() : reply.send(result)
    },
  })
}
