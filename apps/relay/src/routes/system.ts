import { API_PREFIX, HealthResponseSchema } from '@agent-comm/transport-http'
import type { FastifyReply } from 'fastify'
import { z } from 'zod'
import type { RelayContext } from '../context.js'
import { type RouteDef, routesOf } from '../route-table.js'

const startedAt = Date.now()

const LiveResponseSchema = z.object({
  status: z.literal('ok'),
  uptimeSeconds: z.number(),
  version: z.string(),
})
const ReadyResponseSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  database: z.enum(['ok', 'unreachable']),
  /** True once the replica is shutting down: it answers in-flight requests but takes no new work. */
  shuttingDown: z.boolean(),
  /** True while the replica sheds requests for overload (503 with Retry-After): send work elsewhere. */
  underPressure: z.boolean(),
})

/** What the health routes check; which of them must pass is each route's own. */
type Checks = Omit<z.output<typeof ReadyResponseSchema>, 'status'>

const route = routesOf({ tag: 'system', auth: 'none', prefix: API_PREFIX })

/** Liveness, readiness and the API description: no authentication, no rate limit. */
export function systemRoutes(ctx: RelayContext, openapi: () => Record<string, unknown>): RouteDef[] {
  /** One read of the database, whatever it is: it fails when the database is gone. */
  const databaseState = async (): Promise<'ok' | 'unreachable'> => {
    try {
      await ctx.ready()
      return 'ok'
    } catch {
      return 'unreachable'
    }
  }
  /**
   * What the health routes look at, read in this order: the database, whether the replica is shutting
   * down, whether it sheds requests for overload. The answer is a 503 unless `passes` says they pass.
   */
  const probe = async (reply: FastifyReply, passes: (checks: Checks) => boolean) => {
    const checks: Checks = {
      database: await databaseState(),
      shuttingDown: ctx.shutdown.aborted,
      underPressure: ctx.underPressure(),
    }
    const ok = passes(checks)
    if (!ok) reply.code(503)
    return { ok, ...checks }
  }
  const alive = () => ({
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    version: ctx.settings.version,
  })
  return [
    route({
      method: 'GET',
      url: '/health',
      operationId: 'health',
      summary:
        'Liveness, database reachability and load (503 when the database cannot be read or the relay is shedding requests for overload)',
      response: HealthResponseSchema,
      errors: [503],
      async handler({ reply }) {
        const { ok, database, underPressure } = await probe(
          reply,
          (checks) => checks.database === 'ok' && !checks.underPressure,
        )
        return { status: ok ? ('ok' as const) : ('degraded' as const), database, underPressure, ...alive() }
      },
    }),
    route({
      method: 'GET',
      url: '/health/live',
      operationId: 'healthLive',
      summary:
        'Liveness: the process answers (never reads the database; restart the replica only if this fails)',
      response: LiveResponseSchema,
      handler() {
        return { status: 'ok' as const, ...alive() }
      },
    }),
    route({
      method: 'GET',
      url: '/health/ready',
      operationId: 'healthReady',
      summary:
        'Readiness: 200 while the database answers, the replica is not shutting down and not shedding requests for overload, else 503 (take it out of the load balancer)',
      response: ReadyResponseSchema,
      errors: [503],
      async handler({ reply }) {
        const { ok, ...checks } = await probe(
          reply,
          ({ database, shuttingDown, underPressure }) => database === 'ok' && !shuttingDown && !underPressure,
        )
        return { status: ok ? ('ready' as const) : ('unavailable' as const), ...checks }
      },
    }),
    route({
      method: 'GET',
      url: '/openapi.json',
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document',
      response: z.record(z.string(), z.unknown()),
      handler() {
        return openapi()
      },
    }),
  ]
}
