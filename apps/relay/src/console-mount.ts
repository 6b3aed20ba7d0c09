import { consolePlugin } from '@agent-comm/console'
import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Caller } from './auth.js'
import { Approvals } from './console-approvals.js'
import { ConsoleSessions } from './console-sessions.js'
import type { RelayContext } from './context.js'
import type { RouteDef } from './route-table.js'
import { consoleRoutes } from './routes/console.js'

/** Settings of the human console a relay serves at `/console`. */
export interface RelayConsoleOptions {
  /** Serve the console and its API (true). */
  enabled?: boolean
  /** How long a sign-in lasts, in ms (8 hours). */
  sessionTtlMs?: number
  /** How often approval deadlines are checked, in ms of real time (5000); the deadline is read from the relay's clock. */
  sweepIntervalMs?: number
}

/** What the relay wires in: the console's routes for its route table, and the session check of its auth. */
export interface MountedConsole {
  routes: RouteDef[]
  /** The caller of a request signed in with a console session cookie, or undefined (then HMAC applies). */
  callerOf(request: FastifyRequest): Caller | undefined
}

const mounted = new WeakMap<FastifyInstance, ConsoleSessions>()

/**
 * Issues a one-time login token for `agentId` on a relay built with its console (the local
 * `agent-comm console` prints it in its URL); `admin` gives the operator role.
 */
export function issueConsoleLoginToken(app: FastifyInstance, agentId: string, admin: boolean): string {
  const sessions = mounted.get(app)
  if (sessions === undefined) throw new Error('This relay was built without its console')
  return sessions.issueLoginToken(agentId, admin)
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
  if (options.enabled === false) return { routes: [], callerOf: () => undefined }
  await app.register(fastifyCookie)
  const sessions = new ConsoleSessions({
    clock: ctx.clock,
    ...(options.sessionTtlMs === undefined ? {} : { ttlMs: options.sessionTtlMs }),
  })
  mounted.set(app, sessions)
  const approvals = new Approvals({ spool: ctx.spool, registry: ctx.registry, clock: ctx.clock })
  await app.register(consolePlugin, { prefix: '/console' })

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
    routes: consoleRoutes(ctx, { sessions, approvals, ...admin }),
    callerOf: (request) => sessions.callerOf(request),
  }
}
