import { readFileSync } from 'node:fs'
import type { Coordinator } from '@agent-comm/coordinator'
import { type Logger, silentLogger } from '@agent-comm/protocol'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { InboxSubscriptions } from './inbox.js'
import type { RelaySecrets } from './relay-secrets.js'
import { INBOX_URI_TEMPLATE, inboxAgentOf, registerResources } from './resources.js'
import type { ToolContext } from './tool-kit.js'
import { registerAgentTools } from './tools/agents.js'
import { registerDeliveryTools } from './tools/delivery.js'
import { registerHistoryTools } from './tools/history.js'
import { registerMaintenanceTools } from './tools/maintenance.js'
import { registerMessagingTools } from './tools/messaging.js'
import { registerRelayTools } from './tools/relay.js'

/** What {@link createMcpServer} is built from. */
export interface McpServerOptions {
  /** The coordinator every tool works through. The server does not close it. */
  coordinator: Coordinator
  /** The relay's secret store, for comm_relay_gen_secret and comm_relay_list_secrets; without it they explain how to configure one. */
  relaySecrets?: RelaySecrets
  /** Where the server reports failures and dropped subscriptions (never secrets). Default: silent. */
  logger?: Logger
  /**
   * How often a subscribed inbox that already holds claimable messages is re-checked for new ones, in ms
   * (1 000). An empty inbox is woken by the spool at once, without a timer.
   */
  inboxCheckIntervalMs?: number
}

/** The name this server reports to clients. */
export const SERVER_NAME = 'agent-comm'

/** Every tool the server offers, in the order `tools/list` returns them. */
export const TOOL_NAMES = [
  'comm_register_agent',
  'comm_discover_agents',
  'comm_deregister',
  'comm_heartbeat',
  'comm_send',
  'comm_reply',
  'comm_request',
  'comm_await_reply',
  'comm_poll',
  'comm_ack',
  'comm_nack',
  'comm_message_status',
  'comm_get_conversation',
  'comm_list_conversations',
  'comm_search',
  'comm_spool_stats',
  'comm_cleanup',
  'comm_relay_gen_secret',
  'comm_relay_list_secrets',
] as const

const INSTRUCTIONS = `agent-comm lets you exchange messages with other AI agents and people through a durable queue.
- Once: register your agent id with comm_register_agent (find others with comm_discover_agents).
- Send work or questions with comm_send (to an agent id, "*" or "capability:<name>"); to ask and wait for the answer, use comm_request (then comm_await_reply if it is not there yet).
- Receive with comm_poll (wait_seconds to wait for a message). Each message is leased to you: handle it, answer with comm_reply if the sender expects an answer, then comm_ack it with its receipt; comm_nack it with a reason if you cannot handle it.
- Follow threads with comm_get_conversation and comm_list_conversations; find old messages with comm_search; check a delivery with comm_message_status.
Resources: ${INBOX_URI_TEMPLATE} peeks at an agent's waiting messages (subscribe to hear of new ones) and agent-comm://conversation/{id} holds a thread.`

let version: string | undefined

/** This package's version, as reported to clients. */
export function packageVersion(): string {
  version ??= (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version
  return version
}

/**
 * Builds an MCP server offering agent-comm as tools (send, poll, reply, ack, …) and resources (inboxes and
 * conversations, with inbox subscriptions). Connect it to a transport with `server.connect(transport)`;
 * one server serves one client connection, so build one per session. Closing the connection stops its
 * inbox watches; the coordinator stays open for its owner to close.
 */
export function createMcpServer(options: McpServerOptions): McpServer {
  const logger = options.logger ?? silentLogger
  const server = new McpServer(
    { name: SERVER_NAME, title: 'agent-comm', version: packageVersion() },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
      },
      instructions: INSTRUCTIONS,
    },
  )
  const inboxes = new InboxSubscriptions(
    options.coordinator.spool,
    (uri) => server.server.sendResourceUpdated({ uri }),
    logger,
    options.inboxCheckIntervalMs ?? 1000,
  )
  const context: ToolContext = {
    coordinator: options.coordinator,
    relaySecrets: options.relaySecrets,
    logger,
    inboxes,
  }
  registerAgentTools(server, context)
  registerMessagingTools(server, context)
  registerDeliveryTools(server, context)
  registerHistoryTools(server, context)
  registerMaintenanceTools(server, context)
  registerRelayTools(server, context)
  registerResources(server, options.coordinator)

  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const uri = request.params.uri
    const agentId = inboxAgentOf(uri)
    if (agentId === undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Cannot subscribe to ${uri}: only inboxes (${INBOX_URI_TEMPLATE}) send update notifications.`,
      )
    }
    await inboxes.subscribe(uri, agentId)
    return {}
  })
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    inboxes.unsubscribe(request.params.uri)
    return {}
  })

  // The connection ending (client gone, transport closed) ends its watches. Chained, so a composition
  // root may still set its own onclose before or after.
  const previous = server.server.onclose
  server.server.onclose = () => {
    inboxes.close()
    previous?.()
  }
  return server
}
