import type { AgentProfile, AgentProfileInput } from '@agent-comm/protocol'
import { AgentProfileSchema } from '@agent-comm/protocol'
import { z } from 'zod'
import { AgentListResponseSchema, ApiPath, HealthResponseSchema, type RegisterRequest } from '../api.js'
import type { Query, RequestPipeline } from '../request-pipeline.js'
import type { AgentListOptions, AsAgentOptions, RelayHealth } from './call-options.js'

/**
 * The relay's registry (its `agents` routes: register, heartbeat, deregister, look up, list) and the
 * system and operator endpoints (health, admin requests). See `RelayClient` for each.
 */
export class AgentEndpoints {
  readonly #pipeline: RequestPipeline

  constructor(pipeline: RequestPipeline) {
    this.#pipeline = pipeline
  }

  health(options: { signal?: AbortSignal } = {}): Promise<RelayHealth> {
    return this.#pipeline.read(ApiPath.health, null, HealthResponseSchema, options)
  }

  register(profile: AgentProfileInput, options: Partial<AsAgentOptions> = {}): Promise<AgentProfile> {
    const { agentId, status: _status, lastSeen: _lastSeen, registeredAt: _registeredAt, ...rest } = profile
    const body: RegisterRequest = rest
    return this.#write('PUT', ApiPath.agent(agentId), agentId, options, AgentProfileSchema, body)
  }

  heartbeat(agentId: string, options: Partial<AsAgentOptions> = {}): Promise<AgentProfile> {
    return this.#write('POST', ApiPath.heartbeat(agentId), agentId, options, AgentProfileSchema)
  }

  async deregister(agentId: string, options: Partial<AsAgentOptions> = {}): Promise<void> {
    await this.#write('DELETE', ApiPath.agent(agentId), agentId, options, z.unknown())
  }

  getAgent(agentId: string, options: AsAgentOptions): Promise<AgentProfile> {
    return this.#pipeline.read(ApiPath.agent(agentId), options.as, AgentProfileSchema, options)
  }

  async listAgents(options: AgentListOptions): Promise<AgentProfile[]> {
    const { as, signal, ...query } = options
    return (await this.#pipeline.read(ApiPath.agents, as, AgentListResponseSchema, { query, signal })).agents
  }

  admin<S extends z.ZodType>(
    request: { method: 'GET' | 'POST'; path: string; query?: Query; body?: unknown },
    schema: S,
    options: AsAgentOptions,
  ): Promise<z.output<S>> {
    return this.#pipeline.call({
      ...request,
      as: options.as,
      idempotent: request.method === 'GET',
      schema,
      signal: options.signal,
    })
  }

  /** An idempotent change to `agentId`'s registration, signed by the agent itself unless `options.as` is given. */
  #write<S extends z.ZodType>(
    method: 'PUT' | 'POST' | 'DELETE',
    path: string,
    agentId: string,
    options: Partial<AsAgentOptions>,
    schema: S,
    body?: unknown,
  ): Promise<z.output<S>> {
    const as = options.as ?? agentId
    return this.#pipeline.call({ method, path, as, body, idempotent: true, schema, signal: options.signal })
  }
}
