import { API_PREFIX, HealthResponseSchema } from '@agent-comm/transport-http'
import { z } from 'zod'
import type { RelayContext } from '../context.js'
import { type RouteDef, route } from '../route-table.js'

const startedAt = Date.now()

/** Liveness and the API description: no authentication, no rate limit. */
export function systemRoutes(ctx: RelayContext, openapi: () => Record<string, unknown>): RouteDef[] {
  let probe: { get(): unknown } | undefined
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
      handler({ reply }) {
        let database: 'ok' | 'unreachable' = 'ok'
        try {
          probe ??= ctx.spool.sqlite.prepare('SELECT 1')
          probe.get()
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
