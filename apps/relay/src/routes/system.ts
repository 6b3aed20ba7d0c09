import { API_PREFIX, HealthResponseSchema } from '@agent-comm/transport-http'
import { z } from 'zod'
import type { RelayContext } from '../context.js'
import { type RouteDef, route } from '../route-table.js'

const startedAt = Date.now()

/** The recipient the health probe asks about: no agent has it, so the answer is always a cheap `false`. */
const HEALTH_PROBE_AGENT = 'relay.health-probe'

/** Liveness and the API description: no authentication, no rate limit. */
export function systemRoutes(ctx: RelayContext, openapi: () => Record<string, unknown>): RouteDef[] {
  return [
    route({
      method: 'GET',
      url: `${API_PREFIX}/health`,
      operationId: 'health',
      summary: 'Liveness and database reachability (503 when the database cannot be read)',
      tag: 'system',
      auth: 'none',
      response: HealthResponseSchema,
      errors: [503],
      async handler({ reply }) {
        let database: 'ok' | 'unreachable' = 'ok'
        try {
          // One indexed read through the store, whatever the store is: it fails when the database is gone.
          await ctx.spool.store.hasClaimable({ recipient: HEALTH_PROBE_AGENT, now: ctx.spool.clock.now() })
        } catch {
          database = 'unreachable'
          reply.code(503)
        }
        return {
          status: database === 'ok' ? ('ok' as const) : ('degraded' as const),
          database,
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          version: ctx.settings.version,
        }
      },
    }),
    route({
      method: 'GET',
      url: `${API_PREFIX}/openapi.json`,
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document',
      tag: 'system',
      auth: 'none',
      response: z.record(z.string(), z.unknown()),
      handler() {
        return openapi()
      },
    }),
  ]
}
