import { AgentIdSchema, AgentProfileSchema } from '@agent-comm/protocol'
import {
  AgentListQuerySchema,
  AgentListResponseSchema,
  API_PREFIX,
  RegisterRequestSchema,
} from '@agent-comm/transport-http'
import { z } from 'zod'
import { type RelayContext, requireSelfOrAdmin } from '../context.js'
import { listHandler, type RouteDef, routesOf } from '../route-table.js'

const AgentParams = z.strictObject({ agentId: AgentIdSchema })

const route = routesOf({ tag: 'agents', auth: 'agent', prefix: API_PREFIX })

/** The relay's registry: agents register and heartbeat themselves; anyone authenticated can discover them. */
export function agentRoutes(ctx: RelayContext): RouteDef[] {
  const { registry } = ctx
  return [
    route({
      method: 'GET',
      url: '/agents',
      operationId: 'listAgents',
      summary: 'Registered agents matching every given filter, by id',
      query: AgentListQuerySchema,
      response: AgentListResponseSchema,
      handler: listHandler('agents', (query) => registry.list(query)),
    }),
    route({
      method: 'GET',
      url: '/agents/:agentId',
      operationId: 'getAgent',
      summary: "One agent's profile",
      params: AgentParams,
      response: AgentProfileSchema,
      errors: [404],
      async handler({ params }) {
        return registry.require(params.agentId)
      },
    }),
    route({
      method: 'PUT',
      url: '/agents/:agentId',
      operationId: 'register',
      summary: 'Register an agent or update its profile (itself, or any agent as the admin)',
      params: AgentParams,
      body: RegisterRequestSchema,
      response: AgentProfileSchema,
      async handler({ params, body, caller }) {
        requireSelfOrAdmin(caller, params.agentId, 'register')
        return registry.register({ ...body, agentId: params.agentId })
      },
    }),
    route({
      method: 'POST',
      url: '/agents/:agentId/heartbeat',
      operationId: 'heartbeat',
      summary: 'Record that the agent is alive',
      params: AgentParams,
      response: AgentProfileSchema,
      errors: [404],
      async handler({ params, caller }) {
        requireSelfOrAdmin(caller, params.agentId, 'send a heartbeat for')
        return registry.heartbeat(params.agentId)
      },
    }),
    route({
      method: 'DELETE',
      url: '/agents/:agentId',
      operationId: 'deregister',
      summary:
        'Remove an agent from the registry (itself, or any agent as the admin); its secret stays until revoked',
      params: AgentParams,
      errors: [404],
      async handler({ params, caller }) {
        requireSelfOrAdmin(caller, params.agentId, 'deregister')
        await registry.deregister(params.agentId)
        return undefined
      },
    }),
  ]
}
