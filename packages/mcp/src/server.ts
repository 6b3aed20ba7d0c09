import { readFileSync } from 'node:fs'
import type { Coordinator } from '@agent-comm/coordinator'
import type { A2ACleanupTarget } from '@agent-comm/coordinator/a2a-cleanup'
import {
  type Clock,
  ConfigError,
  errorMessage,
  type Logger,
  silentLogger,
  systemClock,
} from '@agent-comm/protocol'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { CHANNEL_CAPABILITY, CHANNEL_METHOD, ChannelAnnouncer } from './channel.js'
import { MailFeed } from './feed.js'
import { SessionIdentity } from './identity.js'
import { InboxSubscriptions } from './inbox.js'
import { RELAY_SECRET_TOOLS, selectTools, TOOL_NAMES } from './profiles.js'
import type { RelaySecrets } from './relay-secrets.js'
import { checkRequestParams } from './request-params.js'
import { assertOwnInbox, INBOX_URI_TEMPLATE, inboxAgentOf, registerResources } from './resources.js'
import { finishToolGate, installToolGate } from './tool-gate.js'
import type { ToolContext } from './tool-kit.js'
import { registerAgentTools } from './tools/agents.js'
import { registerDeliveryTools } from './tools/delivery.js'
import { registerHistoryTools } from './tools/history.js'
import { registerMaintenanceTools } from './tools/maintenance.js'
import { registerMessagingTools } from './tools/messaging.js'
import { registerRelayTools } from './tools/relay.js'
import { registerSessionTools } from './tools/session.js'

/** What {@link createMcpServer} is built from. */
export interface McpServerOptions {
  /** The coordinator every tool works through. The server does not close it. */
  coordinator: Coordinator
  /** The relay's secret store, for comm_relay_gen_secret and comm_relay_list_secrets; without it they explain how to configure one. */
  /**
   * The database whose finished A2A tasks comm_cleanup removes too, when it is a relay's (as
   * `agent-comm cleanup` does): set by the bins to the database they opened; none for a coordinator given.
   */
  a2aTasks?: A2ACleanupTarget | undefined
  relaySecrets?: RelaySecrets
  /** Where the server reports failures and dropped subscriptions (never secrets). Default: silent. */
  logger?: Logger
  /**
   * Safety re-check of subscribed inboxes and the channel, in ms (15 000), for stores whose change hints
   * can be missed. Inboxes are woken by the store's change feed and by sends through this server.
   */
  inboxCheckIntervalMs?: number
  /** The change feed to share between the sessions of one server (default: one of its own). */
  feed?: MailFeed
  /**
   * The agent this session acts as (`--agent`, `AGENT_COMM_AGENT`, an HTTP session's header): registered
   * and heartbeated, the default `from_agent` / `agent_id`, and the only agent the session may act as.
   */
  agent?: string | undefined
  /** Operator switch: a bound session may act as other agents it names (`--allow-any-agent`). */
  allowOtherAgents?: boolean | undefined
  /** Which tools to offer: `all` (default), `core`, `messaging`, `admin` or a comma list (see `TOOL_PROFILES`). */
  tools?: string | undefined
  /**
   * Claude Code channel: announce new mail for `agent` as `notifications/claude/channel` (needs `agent`).
   * `intervalMs` is the least time between two announcements (2 000).
   */
  channel?: boolean | { intervalMs?: number } | undefined
  /** Where comm_relay_gen_secret writes new secrets, never into the transcript (default: a private temp folder). */
  relaySecretOutputDir?: string | undefined
  /** Longest a single long wait (comm_poll wait_seconds) holds a call, in ms (50 000). */
  callWaitCapMs?: number | undefined
  /** Lease ends are read against this (default: the system clock). */
  clock?: Clock
  /**
   * Resolves once `coordinator` can be used. A server started before its database is open answers
   * `initialize` and `tools/list` at once; tool calls, resource reads and subscriptions wait for this.
   */
  ready?: Promise<unknown>
  /** Offer the relay secret tools although `relaySecrets` is not given yet (it arrives with `ready`). */
  relaySecretsConfigured?: boolean
}

/** The name this server reports to clients. */
export const SERVER_NAME = 'agent-comm'

/** Every tool the server offers, in the order `tools/list` returns them (their profiles: `profiles.ts`). */
export { TOOL_NAMES } from './profiles.js'

const INSTRUCTIONS = `agent-comm lets you exchange messages with other AI agents and people through a durable queue.
- First: comm_start_session (registers your agent id and shows what waits for you); find others with comm_discover_agents.
- Send work or questions with comm_send (to an agent id, "*" or "capability:<name>"); to ask and wait for the answer, use comm_request (then comm_await_reply if it is not there yet).
- Receive with comm_poll (wait_seconds to wait for a message). Each message is leased to you: handle it, answer with comm_reply if the sender expects an answer, then comm_ack it with its receipt; comm_nack it with a reason if you cannot handle it.
- Follow threads with comm_get_conversation and comm_list_conversations; find old messages with comm_search; check a delivery with comm_message_status.
Resources: ${INBOX_URI_TEMPLATE} peeks at an agent's waiting messages (subscribe to hear of new ones) and agent-comm://conversation/{id} holds a thread.`

type AnyHandler = (request: unknown, extra: unknown) => Promise<unknown>

/** Makes the handlers of `methods` wait for `ready` (the database) before they run. */
function awaitReady(server: McpServer, ready: Promise<unknown>, methods: string[]): void {
  const handlers = (server.server as unknown as { _requestHandlers: Map<string, AnyHandler> })
    ._requestHandlers
  for (const method of methods) {
    const handler = handlers.get(method)
    if (handler === undefined) continue
    handlers.set(method, async (request, extra) => {
      await ready
      return handler(request, extra)
    })
  }
}

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
  const identity = new SessionIdentity(options.coordinator, {
    agent: options.agent,
    allowOtherAgents: options.allowOtherAgents,
  })
  const channel = options.channel === undefined || options.channel === false ? undefined : options.channel
  if (channel !== undefined && identity.agent === undefined) {
    throw new ConfigError('The Claude Code channel needs the agent whose mail it announces', {
      hint: 'Start the server with --agent <id> (or AGENT_COMM_AGENT) together with --channel.',
    })
  }
  const selected = selectTools(options.tools, TOOL_NAMES)
  const offered = (name: string): boolean =>
    selected(name) &&
    (!RELAY_SECRET_TOOLS.has(name) ||
      options.relaySecrets !== undefined ||
      options.relaySecretsConfigured === true)
  const server = new McpServer(
    { name: SERVER_NAME, title: 'agent-comm', version: packageVersion() },
    {
      capabilities: {
        tools: { listChanged: true },
        // Inboxes and conversations come and go with every registration and message: clients list them
        // when they need them rather than being told of each change.
        resources: { subscribe: true },
        experimental: channel === undefined ? undefined : { [CHANNEL_CAPABILITY]: {} },
      },
      instructions:
        identity.agent === undefined
          ? INSTRUCTIONS
          : `${INSTRUCTIONS}
This session acts as agent '${identity.agent}': leave from_agent / agent_id out, they default to it.`,
    },
  )
  const ready = options.ready ?? Promise.resolve()
  // Read when first used, not now: the coordinator may still be opening.
  const coordinator = () => options.coordinator
  const feed = options.feed ?? new MailFeed(coordinator, options.inboxCheckIntervalMs)
  const inboxes = new InboxSubscriptions(
    coordinator,
    feed,
    (uri) => server.server.sendResourceUpdated({ uri }),
    logger,
  )
  let sessionStart: Promise<void> | undefined
  const context: ToolContext = {
    coordinator: options.coordinator,
    relaySecrets: options.relaySecrets,
    logger,
    inboxes,
    identity,
    clock: options.clock ?? systemClock,
    callWaitCapMs: options.callWaitCapMs,
    ready,
    started: async () => sessionStart,
    secretOutputDir: options.relaySecretOutputDir,
    a2aTasks: options.a2aTasks,
  }
  const schemas = installToolGate(server, context, identity, offered)
  registerSessionTools(server, context)
  registerAgentTools(server, context)
  registerMessagingTools(server, context)
  registerDeliveryTools(server, context)
  registerHistoryTools(server, context)
  registerMaintenanceTools(server, context)
  registerRelayTools(server, context)
  finishToolGate(server, context, schemas)
  registerResources(server, options.coordinator, identity)

  const announcer =
    channel === undefined || identity.agent === undefined
      ? undefined
      : new ChannelAnnouncer({
          coordinator: options.coordinator,
          feed,
          agent: identity.agent,
          logger,
          send: (event) => server.server.notification({ method: CHANNEL_METHOD, params: { ...event } }),
          ...(typeof channel === 'object' && channel.intervalMs !== undefined
            ? { intervalMs: channel.intervalMs }
            : {}),
        })
  // A bound session registers and heartbeats its agent as soon as the client is initialized, and the
  // channel starts listening then; tool calls wait for both (context.started).
  server.server.oninitialized = () => {
    sessionStart = ready
      .then(() => identity.start())
      .then(() => announcer?.start())
      .catch((error: unknown) =>
        logger.warn({ agent: identity.agent, error: errorMessage(error) }, 'session start failed'),
      )
  }

  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const uri = request.params.uri
    const agentId = inboxAgentOf(uri)
    if (agentId === undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Cannot subscribe to ${uri}: only inboxes (${INBOX_URI_TEMPLATE}) send update notifications.`,
      )
    }
    assertOwnInbox(identity, agentId)
    await inboxes.subscribe(uri, agentId)
    return {}
  })
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    inboxes.unsubscribe(request.params.uri)
    return {}
  })

  awaitReady(server, ready, ['resources/list', 'resources/read', 'resources/subscribe'])
  // Last, so it wraps every handler above: params that do not fit their method are -32602, readable.
  checkRequestParams(server.server)

  // The connection ending (client gone, transport closed) ends its watches. Chained, so a composition
  // root may still set its own onclose before or after.
  const previous = server.server.onclose
  server.server.onclose = () => {
    inboxes.close()
    announcer?.close()
    identity.close()
    previous?.()
  }
  return server
}
