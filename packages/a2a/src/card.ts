import type { AgentCard, AgentSkill } from '@a2a-js/sdk'
import type { AgentProfile } from '@agent-comm/protocol'
import { a2aProfileOf } from './profile.js'

/** The protocol version the relay's A2A endpoint speaks. */
export const A2A_VERSION = '1.0'

/** Name of the security scheme every card declares: a bearer token from `relay a2a-token create`. */
export const SECURITY_SCHEME = 'a2aToken'

/** The URL of `agent`'s JSON-RPC endpoint under `baseUrl` (the relay's public URL, no trailing slash). */
export function agentEndpoint(baseUrl: string, agent: string): string {
  return `${baseUrl}/a2a/${encodeURIComponent(agent)}`
}

function security(): Pick<AgentCard, 'securitySchemes' | 'securityRequirements'> {
  return {
    securitySchemes: {
      [SECURITY_SCHEME]: {
        scheme: {
          $case: 'httpAuthSecurityScheme',
          value: {
            description: 'A token from `agent-comm relay a2a-token create NAME` (ask the relay operator).',
            scheme: 'Bearer',
            bearerFormat: 'opaque',
          },
        },
      },
    },
    securityRequirements: [{ schemes: { [SECURITY_SCHEME]: { list: [] } } }],
  }
}

/** The Agent Card of a registered agent that opted in, generated from its registry profile. */
export function agentCard(profile: AgentProfile, options: { baseUrl: string; version: string }): AgentCard {
  const a2a = a2aProfileOf(profile)
  const skills: AgentSkill[] = (a2a?.skills ?? []).map((skill) => ({
    id: skill.id,
    name: skill.name ?? skill.id,
    description: skill.description ?? `${skill.name ?? skill.id} (agent-comm agent ${profile.agentId})`,
    tags: skill.tags.length > 0 ? skill.tags : [...profile.capabilities],
    examples: skill.examples,
    inputModes: [],
    outputModes: [],
    securityRequirements: [],
  }))
  return {
    ...endpointCard(profile.agentId, options),
    description:
      a2a?.description ??
      `agent-comm agent ${profile.agentId} (capabilities: ${profile.capabilities.join(', ') || 'none'}), reached through a durable relay`,
    defaultInputModes: a2a?.inputModes ?? ['text/plain'],
    defaultOutputModes: a2a?.outputModes ?? ['text/plain'],
    skills,
  }
}

/**
 * The card of an agent that is no longer an A2A agent (deregistered, or its profile lists no A2A skill):
 * no skills, but the same endpoint, where its callers still read the tasks they sent it.
 */
export function formerAgentCard(agentId: string, options: { baseUrl: string; version: string }): AgentCard {
  return {
    ...endpointCard(agentId, options),
    description: `${agentId} is no longer an A2A agent on this relay: it takes no new messages, and the tasks sent to it can still be read`,
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
  }
}

/** What every agent's card has: its name, its JSON-RPC interface, the provider, capabilities and security. */
function endpointCard(agentId: string, options: { baseUrl: string; version: string }): AgentCard {
  return {
    name: agentId,
    description: '',
    supportedInterfaces: [
      {
        url: agentEndpoint(options.baseUrl, agentId),
        protocolBinding: 'JSONRPC',
        protocolVersion: A2A_VERSION,
        tenant: '',
      },
    ],
    provider: { organization: 'agent-comm relay', url: options.baseUrl },
    version: options.version,
    capabilities: { streaming: true, pushNotifications: true, extensions: [] },
    defaultInputModes: [],
    defaultOutputModes: [],
    skills: [],
    signatures: [],
    ...security(),
  }
}

/**
 * The relay's own card, at its root: one skill per agent that opted in, whose description gives that
 * agent's card URL. It has no interface of its own: callers pick an agent and fetch its card.
 */
export function directoryCard(
  profiles: readonly AgentProfile[],
  options: { baseUrl: string; version: string },
): AgentCard {
  return {
    name: 'agent-comm relay',
    description: `A durable relay in front of agent-comm agents. Each skill below is one agent; its card is at ${options.baseUrl}/a2a/{agent}/.well-known/agent-card.json.`,
    supportedInterfaces: [],
    provider: { organization: 'agent-comm relay', url: options.baseUrl },
    version: options.version,
    capabilities: { streaming: true, pushNotifications: true, extensions: [] },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: profiles.map((profile) => ({
      id: profile.agentId,
      name: profile.agentId,
      description: `${a2aProfileOf(profile)?.description ?? `agent-comm agent ${profile.agentId}`} — card: ${agentEndpoint(options.baseUrl, profile.agentId)}/.well-known/agent-card.json`,
      tags: (a2aProfileOf(profile)?.skills ?? []).map((s) => s.id),
      examples: [],
      inputModes: [],
      outputModes: [],
      securityRequirements: [],
    })),
    signatures: [],
    ...security(),
  }
}
