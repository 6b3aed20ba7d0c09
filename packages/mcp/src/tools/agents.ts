import {
  AgentIdSchema,
  AgentStatusSchema,
  CapabilitySchema,
  JsonObjectSchema,
  TransportKindSchema,
} from '@agent-comm/protocol'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { formatAgent, plural } from '../format.js'
import { prose } from '../prose.js'
import { AgentOutputSchema } from '../schemas.js'
import { Behaviour, registerTool, type ToolContext } from '../tool-kit.js'

/** comm_register_agent, comm_discover_agents, comm_deregister, comm_heartbeat. */
export function registerAgentTools(server: McpServer, context: ToolContext): void {
  const { coordinator } = context

  registerTool(
    server,
    context,
    'comm_register_agent',
    {
      title: 'Register an agent',
      description: prose`
        Register an agent (yourself, or another unless this session is bound to one agent) so others can
        message it, or update its profile. Call this once before sending or polling as a new agent_id;
        registering again replaces the capabilities, device, transport and metadata. Capabilities are what the
        agent can do (e.g. "code", "review"); others find it by them with comm_discover_agents and can address
        all holders of one with to_agent "capability:<name>". Next: comm_poll to receive, comm_send to send.
      `,
      inputSchema: {
        agent_id: AgentIdSchema.describe('the agent id: letters, digits and . _ : @ - (e.g. "builder")'),
        capabilities: z
          .array(CapabilitySchema)
          .default([])
          .describe('what the agent can do, e.g. ["code", "review"]'),
        device: z
          .string()
          .min(1)
          .max(256)
          .optional()
          .describe('device or location of the agent, e.g. "workstation" (default "local")'),
        transport: TransportKindSchema.optional().describe(
          'how the agent is reached: sqlite (this machine, the default), http (through a relay: give relay_url) or file (give inbox_dir)',
        ),
        relay_url: z.string().optional().describe("the relay's base URL, required with transport http"),
        inbox_dir: z
          .string()
          .optional()
          .describe('folder the agent reads its messages from, required with transport file'),
        metadata: JsonObjectSchema.optional().describe('free-form JSON object stored with the profile'),
      },
      outputSchema: { agent: AgentOutputSchema },
      behaviour: Behaviour.upserts,
      actsAs: { parameter: 'agent_id', registered: false },
    },
    async (args) => {
      const agent = await coordinator.register({
        agentId: args.agent_id,
        capabilities: args.capabilities,
        device: args.device,
        transport: args.transport,
        relayUrl: args.relay_url,
        inboxDir: args.inbox_dir,
        metadata: args.metadata,
      })
      return {
        text: `Registered agent '${agent.agentId}'.\n${formatAgent(agent)}\nNext: receive messages with comm_poll (agent_id: '${agent.agentId}'); send with comm_send (from_agent: '${agent.agentId}').`,
        data: { agent },
      }
    },
  )

  registerTool(
    server,
    context,
    'comm_discover_agents',
    {
      title: 'Find agents',
      description: prose`
        List registered agents with their capabilities, device, transport and presence (active, inactive,
        offline). Use it to find whom to send a task to: filter by capability (e.g. "review") and status.
        Next: comm_send with to_agent set to an agent_id from the list.
      `,
      inputSchema: {
        capability: CapabilitySchema.optional().describe('only agents with this capability'),
        status: AgentStatusSchema.optional().describe('only agents with this presence'),
      },
      outputSchema: { count: z.number().int(), agents: z.array(AgentOutputSchema) },
      behaviour: Behaviour.reads,
      actsAs: null,
    },
    async (args) => {
      const agents = await coordinator.agents({ capability: args.capability, status: args.status })
      const filter = [
        args.capability === undefined ? undefined : `capability '${args.capability}'`,
        args.status === undefined ? undefined : `status ${args.status}`,
      ].filter((part) => part !== undefined)
      const heading = `${plural(agents.length, 'agent')}${filter.length === 0 ? '' : ` with ${filter.join(' and ')}`}`
      const text =
        agents.length === 0
          ? `${heading}. Register one with comm_register_agent.`
          : `${heading}:\n${agents.map(formatAgent).join('\n')}`
      return { text, data: { count: agents.length, agents } }
    },
  )

  registerTool(
    server,
    context,
    'comm_deregister',
    {
      title: 'Remove an agent',
      description: prose`
        Remove an agent from the registry (it no longer appears in comm_discover_agents and messages to it are
        refused). Messages already queued for it stay in the spool until they expire. Use it when an agent is
        retired; to only mark it away, stop sending heartbeats instead.
      `,
      inputSchema: { agent_id: AgentIdSchema.describe('the agent to remove') },
      outputSchema: { agentId: z.string(), removed: z.boolean() },
      behaviour: Behaviour.removes,
      actsAs: { parameter: 'agent_id', registered: false },
    },
    async (args) => {
      await coordinator.deregister(args.agent_id)
      return {
        text: `Removed agent '${args.agent_id}' from the registry.`,
        data: { agentId: args.agent_id, removed: true },
      }
    },
  )

  registerTool(
    server,
    context,
    'comm_heartbeat',
    {
      title: 'Mark an agent alive',
      description: prose`
        Record that an agent is alive: it shows as active in comm_discover_agents, and an offline mark is
        cleared. Sending, polling and acking already count as activity; call this during long work between
        them.
      `,
      inputSchema: { agent_id: AgentIdSchema.describe('the agent that is alive') },
      outputSchema: { agent: AgentOutputSchema },
      behaviour: Behaviour.upserts,
      actsAs: { parameter: 'agent_id', registered: false },
    },
    async (args) => {
      const agent = await coordinator.heartbeat(args.agent_id)
      return { text: `Heartbeat recorded.\n${formatAgent(agent)}`, data: { agent } }
    },
  )
}
