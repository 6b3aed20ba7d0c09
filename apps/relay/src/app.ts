import { randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import { getHeapStatistics } from 'node:v8'
import { type A2APluginOptions, type A2AStore, a2aPlugin, type Sealer } from '@agent-comm/a2a'
import type { Clock } from '@agent-comm/protocol'
import { parseOrThrow } from '@agent-comm/protocol'
import type { Registry } from '@agent-comm/registry'
import type { Spool } from '@agent-comm/spool'
import { AUDIENCE_PATTERN, DEFAULT_AUTH_WINDOW_MS } from '@agent-comm/transport-http'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyHttpOptions,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify'
import { z } from 'zod'
import { Authenticator } from './auth.js'
import { mountConsole, type RelayConsoleOptions } from './console-mount.js'
import type { ConsoleStore } from './console-store.js'
import type { RelayContext, RelaySecrets } from './context.js'
import { RELAY_DEFAULTS } from './defaults.js'
import { toErrorReply } from './http-errors.js'
import { RelayLimits } from './limits.js'
import { RelayMetrics } from './metrics.js'
import type { NonceStore } from './nonces.js'
import { ParkedPolls } from './parked-polls.js'
import { authenticationPlugin } from './plugins/authentication.js'
import { authorizationPlugin } from './plugins/authorization.js'
import { lifecyclePlugin } from './plugins/lifecycle.js'
import { limitsPlugin } from './plugins/limits.js'
import { metricsPlugin } from './plugins/metrics.js'
import { type OverloadLimits, overloadPlugin, SustainedPressure } from './plugins/overload.js'
import { RouteTable, routeGroup } from './plugins/route-group.js'
import { wirePlugin } from './plugins/wire.js'
import { lazyRequestLogger } from './request-logger.js'
import { adminRoutes } from './routes/admin.js'
import { agentRoutes } from './routes/agents.js'
import { deliveryRoutes } from './routes/deliveries.js'
import { messageRoutes } from './routes/messages.js'
import { systemRoutes } from './routes/system.js'
import { tracingPlugin } from './tracing.js'
import { RELAY_VERSION } from './version.js'

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
  /**
   * Longest time a client may take to send a whole request, headers and body, in ms (60 000); past it the
   * relay answers 408 and closes the connection. Without it a client dribbling a body (which a proxy with
   * request buffering off passes straight through) holds a connection for as long as it likes. Counted until
   * the request is received, so long polls and event streams, which are answers, are not cut by it.
   */
  requestTimeoutMs?: number
  /** How often an idle event stream sends a keep-alive comment, in ms (15 000). */
  streamKeepAliveMs?: number
  /**
   * Take client addresses from `X-Forwarded-For` (false): `true` trusts any proxy, a string only the
   * comma-separated proxy addresses or CIDR ranges. Set it behind a reverse proxy, or every client has the
   * proxy's address (and shares its failed-authentication limit).
   */
  trustProxy?: boolean | string
  /**
   * The relay's URL as clients reach it (`https://relay.example.com`): the A2A agent cards name it. None:
   * each card names the URL of its own request (its Host header; behind a trusted proxy, `X-Forwarded-Host`
   * and `X-Forwarded-Proto`), which the client chose.
   */
  publicUrl?: string
  /** The human console at `/console` and its API (served by default; `{ enabled: false }` for none). */
  console?: RelayConsoleOptions
  /**
   * A2A push webhooks: by default only public addresses get pushes (no loopback, private, link-local,
   * unspecified or multicast address). `pushAllowHosts` allows those hosts whatever they resolve to, and
   * the addresses in its CIDR ranges and IP literals; `pushAllowPrivate` allows every address (tests, a
   * relay inside a trusted network). `maxWaitsPerCaller`: requests one A2A caller may have waiting on
   * tasks at once in this process (20; 0 for no limit).
   */
  a2a?: { pushAllowPrivate?: boolean; pushAllowHosts?: readonly string[]; maxWaitsPerCaller?: number }
  /**
   * Long polls (claims and reply claims with `waitMs`, waits) and event streams one agent may hold open at
   * once in this process (100; 0 for no limit); one more is refused with 429 TOO_MANY_WAITS before anything
   * is claimed.
   */
  maxWaitsPerAgent?: number
  /**
   * Load shedding (`@fastify/under-pressure`): while a figure is over its limit, new requests other than
   * health and metrics get 503 UNAVAILABLE with `Retry-After` and `details.overloaded`, before they are
   * authenticated or read. Limits (0 turns one off): mean event-loop delay in ms (1000), event-loop
   * utilization 0-1 (off), V8 heap used in bytes (90% of V8's heap limit), resident memory in bytes (off);
   * `retryAfterSeconds` (2), how often the figures are measured, `sampleIntervalMs` (1000), and how many
   * samples in a row must be over a limit before requests are shed, `sustainedSamples` (2).
   */
  overload?: {
    maxEventLoopDelayMs?: number
    maxEventLoopUtilization?: number
    maxHeapUsedBytes?: number
    maxRssBytes?: number
    retryAfterSeconds?: number
    sampleIntervalMs?: number
    sustainedSamples?: number
  }
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

/** A count per window, or `false` for no limit (`WindowLimit` of limits.ts). */
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
    requestTimeoutMs: z.number().int().min(10).default(RELAY_DEFAULTS.requestTimeoutMs),
    audience: z
      .string()
      .regex(AUDIENCE_PATTERN, 'must be 1-256 printable characters without spaces')
      .optional(),
    requireAudience: z.boolean().default(false),
    trustProxy: z.union([z.boolean(), z.string().min(1)]).default(false),
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    a2a: z
      .object({
        /** Push webhooks on loopback/private/link-local addresses allowed (tests, trusted networks). */
        pushAllowPrivate: z.boolean().default(false),
        /** Push webhook hosts allowed whatever they resolve to. */
        pushAllowHosts: z.array(z.string().min(1)).default([]),
        /** Requests one caller may have waiting on tasks at once in this process (0: no limit). */
        maxWaitsPerCaller: z.number().int().min(0).default(RELAY_DEFAULTS.a2aMaxWaitsPerCaller),
      })
      .default({
        pushAllowPrivate: false,
        pushAllowHosts: [],
        maxWaitsPerCaller: RELAY_DEFAULTS.a2aMaxWaitsPerCaller,
      }),
    maxWaitsPerAgent: z.number().int().min(0).default(RELAY_DEFAULTS.maxWaitsPerAgent),
    overload: z
      .object({
        maxEventLoopDelayMs: z.number().int().min(0).default(RELAY_DEFAULTS.maxEventLoopDelayMs),
        maxEventLoopUtilization: z.number().min(0).lt(1).default(RELAY_DEFAULTS.maxEventLoopUtilization),
        maxHeapUsedBytes: z.number().int().min(0).optional(),
        maxRssBytes: z.number().int().min(0).default(RELAY_DEFAULTS.maxRssBytes),
        retryAfterSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(RELAY_DEFAULTS.overloadRetryAfterSeconds),
        sampleIntervalMs: z.number().int().min(10).default(1000),
        sustainedSamples: z.number().int().min(1).max(60).default(2),
      })
      .prefault({}),
    console: z
      .object({
        enabled: z.boolean().optional(),
        sessionTtlMs: z.number().int().min(1000).optional(),
        cookieName: z
          .string()
          .regex(/^[A-Za-z0-9_]{1,64}$/, 'may contain only letters, digits and _ (at most 64)')
          .optional(),
        sweepIntervalMs: z.number().int().min(10).optional(),
        streamSafetyPollMs: z.number().int().min(100).optional(),
        maxStreamsPerSession: z.number().int().min(0).optional(),
        maxStreams: z.number().int().min(0).optional(),
      })
      .default({}),
  })
  .refine((o) => !o.requireAudience || o.audience !== undefined, {
    message: 'requireAudience needs an audience',
    path: ['requireAudience'],
  })

type ParsedOptions = z.output<typeof RelayOptionsSchema>

/**
 * Builds the relay: a fastify instance serving `/api/v1` over the injected spool, registry and secrets,
 * not yet listening (call `listen`, or `inject` in tests). Closing it ends long polls and event streams
 * and waits for requests in flight; the spool, registry and secret store stay open for their owner.
 */
export async function createRelay(deps: RelayDeps): Promise<FastifyInstance> {
  const options = parseOrThrow(RelayOptionsSchema, deps.options ?? {}, 'relay options')
  const clock = deps.clock ?? deps.spool.clock
  const closing = new AbortController()
  const limits = new RelayLimits(options, clock)
  const pressure = new SustainedPressure(options.overload.sustainedSamples)
  const ctx = relayContext(deps, options, {
    clock,
    shutdown: closing.signal,
    limits,
    underPressure: () => pressure.sustained,
  })
  const app = Fastify(serverOptions(deps, options)) as unknown as FastifyInstance
  await app.register(wirePlugin)
  await app.register(lifecyclePlugin, { closing, nonces: deps.nonces })
  await app.register(tracingPlugin)
  await app.register(metricsPlugin, { metrics: ctx.metrics, spool: deps.spool, registry: deps.registry })
  await app.register(overloadPlugin, {
    limits: overloadLimits(options),
    pressure,
    metrics: ctx.metrics,
    clock,
  })
  const consoleMount = await mountConsole(app, ctx, adminOf(options), {
    ...options.console,
    store: deps.consoleStore,
  })
  await app.register(authenticationPlugin, {
    authenticator: authenticatorOf(deps, options, clock),
    nonces: deps.nonces,
    limits,
    metrics: ctx.metrics,
    sessionCaller: consoleMount.callerOf,
  })
  await app.register(limitsPlugin, { limits })
  await app.register(authorizationPlugin, { registry: deps.registry, clock })
  const table = new RouteTable()
  await app.register(routeGroup, { table, routes: systemRoutes(ctx, () => table.openApi()) })
  await app.register(routeGroup, { table, routes: messageRoutes(ctx) })
  await app.register(routeGroup, { table, routes: deliveryRoutes(ctx) })
  await app.register(routeGroup, { table, routes: agentRoutes(ctx) })
  await app.register(routeGroup, { table, routes: adminRoutes(ctx) })
  await app.register(routeGroup, { table, routes: consoleMount.routes })
  await app.register(a2aPlugin, a2aOptions(deps, options, clock))
  return app
}

/**
 * The overload limits with their defaults: the heap's, when none is given, a share of V8's heap limit
 * (`--max-old-space-size`, or what V8 chose for this machine), near which the process would soon crash.
 */
function overloadLimits(options: ParsedOptions): OverloadLimits {
  const { overload } = options
  return {
    ...overload,
    maxHeapUsedBytes:
      overload.maxHeapUsedBytes ??
      Math.floor(getHeapStatistics().heap_size_limit * RELAY_DEFAULTS.maxHeapUsedShare),
  }
}

/** Node's own defaults for how often overdue requests are looked for, and for receiving the headers. */
const NODE_CHECKING_INTERVAL_MS = 30_000
const NODE_HEADERS_TIMEOUT_MS = 60_000

/** The fastify server's own settings. */
function serverOptions(deps: RelayDeps, options: ParsedOptions): FastifyHttpOptions<Server> {
  return {
    ...(deps.logger === undefined
      ? { logger: false }
      : { loggerInstance: deps.logger, childLoggerFactory: lazyRequestLogger }),
    bodyLimit: options.bodyLimitBytes,
    requestTimeout: options.requestTimeoutMs,
    // Node checks for overdue requests every 30 s by default: a shorter timeout is checked as often as it
    // is long, so it holds within twice its length. Headers get no longer than the whole request.
    http: {
      connectionsCheckingInterval: Math.min(NODE_CHECKING_INTERVAL_MS, options.requestTimeoutMs),
      headersTimeout: Math.min(NODE_HEADERS_TIMEOUT_MS, options.requestTimeoutMs),
    },
    // Ids may be 128 characters, and a client may percent-encode each (':' and '@' become three):
    // fastify's default of 100 would answer a long but valid id with 414. The schemas bound them exactly.
    routerOptions: { maxParamLength: 1024 },
    trustProxy: options.trustProxy,
    // One line per request, written by the metrics plugin's onResponse hook with the route and agent.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    frameworkErrors: (error, request, reply) => {
      const mapped = toErrorReply(error, String(request.id))
      ;(reply as FastifyReply).code(mapped.status).send(mapped.body)
    },
  }
}

function adminOf(options: ParsedOptions): { adminId: string; adminSecrets: readonly string[] } {
  return { adminId: options.admin.agentId, adminSecrets: options.admin.secrets }
}

function authenticatorOf(deps: RelayDeps, options: ParsedOptions, clock: Clock): Authenticator {
  return new Authenticator({
    secrets: deps.secrets,
    nonces: deps.nonces,
    clock,
    windowMs: options.authWindowMs,
    ...adminOf(options),
    audience: options.audience,
    requireAudience: options.requireAudience,
  })
}

/** Everything the route handlers work with. */
function relayContext(
  deps: RelayDeps,
  options: ParsedOptions,
  parts: { clock: Clock; shutdown: AbortSignal; limits: RelayLimits; underPressure: () => boolean },
): RelayContext {
  const metrics = new RelayMetrics({ waitsHeld: () => parts.limits.waits.held() })
  return {
    spool: deps.spool,
    registry: deps.registry,
    secrets: deps.secrets,
    clock: parts.clock,
    metrics,
    shutdown: parts.shutdown,
    parked: new ParkedPolls(deps.spool),
    ready: deps.ready ?? (() => deps.spool.ping()),
    settings: {
      streamKeepAliveMs: options.streamKeepAliveMs,
      version: RELAY_VERSION,
      adminId: options.admin.agentId,
    },
    fanOut: {
      maxRecipientsPerMessage: options.maxRecipientsPerMessage,
      // A request over the whole rate limit could never pass: say so as a size limit instead of a 429 forever.
      maxDeliveriesPerRequest:
        options.rateLimit === false
          ? options.maxDeliveriesPerRequest
          : Math.min(options.maxDeliveriesPerRequest, options.rateLimit.max),
      chunkDeliveries: options.chunkDeliveries,
    },
    charge: (caller, units) => parts.limits.charge(caller, units),
    holdWait: (agentId, kind) => {
      try {
        return parts.limits.holdWait(agentId, kind)
      } catch (error) {
        metrics.waitRefused(kind)
        throw error
      }
    },
    underPressure: parts.underPressure,
  }
}

/** The A2A endpoint's options: the relay's spool, registry and clock, its push policy and signing key. */
function a2aOptions(deps: RelayDeps, options: ParsedOptions, clock: Clock): A2APluginOptions {
  return {
    spool: deps.spool,
    registry: deps.registry,
    clock,
    version: RELAY_VERSION,
    ...(options.publicUrl === undefined ? {} : { baseUrl: options.publicUrl.replace(/\/+$/, '') }),
    push: {
      policy: { allowPrivate: options.a2a.pushAllowPrivate, allowHosts: options.a2a.pushAllowHosts },
      signing: deps.a2aSealer === undefined ? undefined : { sealer: deps.a2aSealer },
    },
    logger: deps.logger,
    store: deps.a2aStore,
    maxWaitsPerCaller: options.a2a.maxWaitsPerCaller,
  }
}
