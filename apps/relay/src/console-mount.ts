import { consolePlugin } from '@agent-comm/console'
import { ValidationError } from '@agent-comm/protocol'
import { API_PREFIX, RelayErrorCode } from '@agent-comm/transport-http'
import fastifyCookie from '@fastify/cookie'
import fastifyCsrfProtection from '@fastify/csrf-protection'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Caller } from './auth.js'
import { Approvals } from './console-approvals.js'
import { ConsoleSessions, CSRF_HEADER } from './console-sessions.js'
import { SqliteConsoleStore } from './console-sqlite-store.js'
import type { ConsoleStore } from './console-store.js'
import type { RelayContext } from './context.js'
import { HttpProblem } from './http-errors.js'
import type { RouteDef } from './route-table.js'
import { consoleRoutes } from './routes/console.js'

/** Settings of the human console a relay serves at `/console`. */
export interface RelayConsoleOptions {
  /** Serve the console and its API (true). */
  enabled?: boolean
  /** How long a sign-in lasts, in ms (8 hours). */
  sessionTtlMs?: number
  /**
   * The session cookie's name (`agent_comm_session`). Browsers send a host's cookies to every port of it:
   * two consoles on one host name need different names, or they sign each other out.
   */
  cookieName?: string
  /**
   * Where sessions and the audit log are kept. Default: the console's tables in the spool's SQLite file.
   * A relay on PostgreSQL passes `openPostgresConsoleStore(…)` of `@agent-comm/postgres` (its storage does);
   * the relay closes it.
   */
  store?: ConsoleStore
  /**
   * How often a console page's event stream re-reads when nothing woke it, in ms (5000): the floor under
   * the change feed, for what writes nothing (a lease or a deadline running out).
   */
  streamSafetyPollMs?: number
  /**
   * Event streams (`GET /console/stream`) one session may hold open at once in this process (8); one more
   * is refused with 429 TOO_MANY_WAITS and Retry-After. 0 for no limit.
   */
  maxStreamsPerSession?: number
  /** Event streams open at once in this process, every session's together (256); 0 for no limit. */
  maxStreams?: number
  /** How often approval deadlines are checked, in ms of real time (5000); the deadline is read from the relay's clock. */
  sweepIntervalMs?: number
}

/** What the relay wires in: the console's routes for its route table, and the session check of its auth. */
export interface MountedConsole {
  routes: RouteDef[]
  /** The caller of a request signed in with a console session cookie, or undefined (then HMAC applies). */
  callerOf(request: FastifyRequest): Promise<Caller | undefined>
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The console's own API routes: a request to them with no credentials at all is "not signed in". */
const CONSOLE_API = `${API_PREFIX}/console/`

/**
 * A console API request with neither a session cookie nor a signature: a page whose person is not signed
 * in (the sign-in page checking for a session, a tab whose session ended in another). Nothing was
 * guessed, so it is answered as such — not counted or logged as a failed authentication, and not with
 * the signing headers' message, which means nothing to a person.
 */
function notSignedIn(): HttpProblem {
  return new HttpProblem(401, RelayErrorCode.UNAUTHENTICATED, 'Not signed in to the console', {
    hint: 'Sign in on the console page; an agent signs its requests instead (X-Agent-ID, X-Signature …).',
  })
}

/** The instance decorator holding the console's sessions, for {@link issueConsoleLoginToken}. */
const SESSIONS = 'consoleSessions'

/**
 * Issues a one-time login token for `agentId` on a relay built with its console (the local
 * `agent-comm console` prints it in its URL); `admin` gives the operator role.
 */
export function issueConsoleLoginToken(app: FastifyInstance, agentId: string, admin: boolean): string {
  if (!app.hasDecorator(SESSIONS)) throw new Error('This relay was built without its console')
  return app.getDecorator<ConsoleSessions>(SESSIONS).issueLoginToken(agentId, admin)
}

/**
 * Mounts the human console on a relay: cookies, the front end at `/console` (with its CSP), the console's
 * API routes, and the sweeper that applies approval deadlines. Called once by `createRelay`.
 */
export async function mountConsole(
  app: FastifyInstance,
  ctx: RelayContext,
  admin: { adminId: string; adminSecrets: readonly string[] },
  options: RelayConsoleOptions = {},
): Promise<MountedConsole> {
  if (options.enabled === false) {
    await options.store?.close()
    return { routes: [], callerOf: async () => undefined }
  }
  let store = options.store
  if (store === undefined) {
    if (ctx.spool.storeKind !== 'sqlite') {
      throw new ValidationError(
        `The console needs a store for its sessions and audit log on this ${ctx.spool.storeKind} spool`,
        [{ path: 'console.store', message: 'required when the spool is not on SQLite' }],
      )
    }
    store = ctx.spool.openShared(SqliteConsoleStore.shared())
  }
  const owned = store
  app.addHook('onClose', async () => owned.close())
  await app.register(fastifyCookie)
  // CSRF tokens by @fastify/csrf-protection, in its session mode: the secret is the console session's own
  // (in the database, so every replica checks it), read from `request.session` where callerOf puts it.
  app.decorateRequest('session', null)
  await app.register(fastifyCsrfProtection, {
    sessionPlugin: '@fastify/session',
    getToken: (request) => {
      const token = request.headers[CSRF_HEADER]
      return typeof token === 'string' ? token : undefined
    },
  })
  // Every state change of a request signed in with a console session carries its token (API routes too).
  app.addHook('preHandler', (request, reply, done) => {
    if (request.session === null || SAFE_METHODS.has(request.method)) {
      done()
      return
    }
    app.csrfProtection(request, reply, done)
  })
  const sessions = new ConsoleSessions({
    store,
    clock: ctx.clock,
    ttlMs: options.sessionTtlMs,
    cookieName: options.cookieName,
  })
  app.decorate(SESSIONS, sessions)
  const approvals = new Approvals({
    spool: ctx.spool,
    registry: ctx.registry,
    clock: ctx.clock,
    store,
    logger: app.log,
  })
  await app.register(consolePlugin, { prefix: '/console' })
  // The root has nothing of its own: someone who types the host's address (or drops the path) means the page.
  app.get('/', (_request, reply) => reply.redirect('/console/', 302))

  // Deadlines are applied by the relay, not by any page being open. One sweep at a time.
  let sweeping = false
  const timer = setInterval(() => {
    if (sweeping || ctx.shutdown.aborted) return
    sweeping = true
    approvals
      .sweep()
      .then((handled) => {
        if (handled > 0) app.log.info({ handled }, 'approval deadlines applied')
      })
      .catch((error: unknown) => app.log.warn({ err: error }, 'approval deadline sweep failed'))
      .finally(() => {
        sweeping = false
      })
  }, options.sweepIntervalMs ?? 5000)
  timer.unref()
  app.addHook('onClose', async () => clearInterval(timer))

  return {
    routes: consoleRoutes(ctx, {
      sessions,
      approvals,
      ...admin,
      throughput: (params) => owned.throughput(params),
      streamSafetyPollMs: options.streamSafetyPollMs,
      maxStreamsPerSession: options.maxStreamsPerSession,
      maxStreams: options.maxStreams,
      notifyChange: store.notifyChange === undefined ? undefined : () => owned.notifyChange!(),
    }),
    async callerOf(request) {
      const caller = await sessions.callerOf(request)
      if (
        caller === undefined &&
        request.headers['x-agent-id'] === undefined &&
        request.headers['x-signature'] === undefined &&
        request.routeOptions.url?.startsWith(CONSOLE_API) === true
      ) {
        throw notSignedIn()
      }
      return caller
    },
  }
}
