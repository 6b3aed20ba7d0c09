import {
  AgentProfileSchema,
  MessageDeliverySchema,
  MessageIdSchema,
  SpoolStatsSchema,
} from '@agent-comm/protocol'
import { API_PREFIX, FailedQuerySchema, RetryRequestSchema } from '@agent-comm/transport-http'
import { z } from 'zod'
import type { RelayContext } from '../context.js'
import { listHandler, type RouteDef, routesOf } from '../route-table.js'

const FailedResponseSchema = z.object({ failed: z.array(MessageDeliverySchema) })

const AdminAgentsResponseSchema = z.object({
  agents: z.array(
    z.object({
      agentId: z.string(),
      profile: AgentProfileSchema.nullable(),
      secret: z
        .object({
          createdAt: z.string(),
          activeSecrets: z.number().int(),
          previousValidUntil: z.string().optional(),
        })
        .nullable(),
    }),
  ),
})

const route = routesOf({ tag: 'admin', auth: 'admin', prefix: API_PREFIX })

/** Operator endpoints, for the admin id only. */
export function adminRoutes(ctx: RelayContext): RouteDef[] {
  const { spool, registry, secrets } = ctx
  return [
    route({
      method: 'GET',
      url: '/admin/stats',
      operationId: 'stats',
      summary: 'Counts by delivery status, queue ages, failure rate and per-agent depth',
      response: SpoolStatsSchema,
      async handler() {
        return spool.stats()
      },
    }),
    route({
      method: 'GET',
      url: '/admin/failed',
      operationId: 'listFailed',
      summary: 'Dead-lettered deliveries, most recently failed first',
      query: FailedQuerySchema,
      response: FailedResponseSchema,
      handler: listHandler('failed', (query) => spool.listFailed(query)),
    }),
    route({
      method: 'POST',
      url: '/admin/failed/:messageId/retry',
      operationId: 'retryFailed',
      summary:
        'Requeue the dead-lettered deliveries of a message (for one agent, or all) with fresh attempts',
      params: z.strictObject({ messageId: MessageIdSchema }),
      body: RetryRequestSchema,
      response: z.object({ requeued: z.number().int() }),
      errors: [404, 409],
      async handler({ params, body }) {
        return spool.retryFailed(params.messageId, body.agent)
      },
    }),
    route({
      method: 'GET',
      url: '/admin/agents',
      operationId: 'adminAgents',
      summary:
        'Every agent the relay knows, registered or holding a secret, with secret dates (never secrets)',
      response: AdminAgentsResponseSchema,
      async handler() {
        const profiles = new Map((await registry.list()).map((p) => [p.agentId, p]))
        const infos = new Map(((await secrets.list?.()) ?? []).map((s) => [s.agentId, s]))
        const ids = [...new Set([...profiles.keys(), ...infos.keys()])].sort()
        return {
          agents: ids.map((agentId) => {
            const info = infos.get(agentId)
            return {
              agentId,
              profile: profiles.get(agentId) ?? null,
              secret:
                info === undefined
                  ? null
                  : {
                      createdAt: info.createdAt,
                      activeSecrets: info.activeSecrets,
                      previousValidUntil: info.previousValidUntil,
                    },
            }
          }),
        }
      },
    }),
  ]
}
