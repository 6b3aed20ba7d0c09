import type { Coordinator } from '@agent-comm/coordinator'
import { AgentIdSchema, MAX_LIST_LIMIT, MessageIdSchema } from '@agent-comm/protocol'
import { safeJson, safeLine } from '@agent-comm/protocol/terminal-text'
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { Variables } from '@modelcontextprotocol/sdk/shared/uriTemplate.js'
import {
  ErrorCode,
  McpError,
  type ReadResourceResult,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { DEFAULT_READ_BODY_CHARS, trimmed } from './budget.js'
import { plural } from './format.js'
import type { SessionIdentity } from './identity.js'
import { peekInbox } from './inbox.js'
import { prose } from './prose.js'

/** URI template of an agent's inbox: a read-only peek at the messages waiting for it. */
export const INBOX_URI_TEMPLATE = 'agent-comm://inbox/{agent}'

/** URI template of a conversation: every message of one thread. */
export const CONVERSATION_URI_TEMPLATE = 'agent-comm://conversation/{id}'

const INBOX_PREFIX = 'agent-comm://inbox/'
const CONVERSATION_PREFIX = 'agent-comm://conversation/'

/** The URI of `agentId`'s inbox. */
export function inboxUri(agentId: string): string {
  return `${INBOX_PREFIX}${encodeURIComponent(agentId)}`
}

/** The URI of a conversation. */
export function conversationUri(conversationId: string): string {
  return `${CONVERSATION_PREFIX}${encodeURIComponent(conversationId)}`
}

function decode(value: string): string | undefined {
  try {
    return decodeURIComponent(value)
  } catch {
    // A malformed %-escape is not a name we could have made.
    return undefined
  }
}

/** The agent an inbox URI names, or undefined when `uri` is not an inbox URI. */
export function inboxAgentOf(uri: string): string | undefined {
  if (!uri.startsWith(INBOX_PREFIX)) return undefined
  const rest = uri.slice(INBOX_PREFIX.length)
  if (rest === '' || /[/?#]/.test(rest)) return undefined
  const agent = decode(rest)
  return agent !== undefined && AgentIdSchema.safeParse(agent).success ? agent : undefined
}

function variable(variables: Variables, name: string): string | undefined {
  const value = variables[name]
  const raw = Array.isArray(value) ? value.join(',') : value
  return raw === undefined ? undefined : decode(raw)
}

/**
 * A resource's JSON. Clients may print its text as is, so no control character from a message is raw in it:
 * `safeJson` writes the ones JSON leaves alone (C1, bidi overrides) as `\u` escapes; it parses back exact.
 */
function json(uri: URL, body: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: safeJson(body, 2) }] }
}

/** How many pending messages an inbox read shows by default, and at most. */
const INBOX_READ_LIMIT = 50
const INBOX_READ_MAX = 100
/** How far into an inbox a `before` cursor can reach (the spool's largest pending read). */
const INBOX_SCAN_MAX = MAX_LIST_LIMIT

/** The query an inbox read takes: `?limit=N&before=<message id>`. Unknown keys are refused. */
const InboxQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(INBOX_READ_MAX).default(INBOX_READ_LIMIT),
  before: MessageIdSchema.optional(),
})

/** Splits the `{agent}` variable of an inbox URI into the agent and its query (`builder?limit=5`). */
function inboxRequest(
  uri: URL,
  raw: string | undefined,
): { agentId: string; query: z.infer<typeof InboxQuerySchema> } {
  const at = raw?.indexOf('?') ?? -1
  const agentId = decode(at === -1 ? (raw ?? '') : raw!.slice(0, at))
  if (agentId === undefined || !AgentIdSchema.safeParse(agentId).success) {
    throw new McpError(
      ErrorCode.InvalidParams,
      `Invalid inbox URI ${uri.href}: expected ${INBOX_URI_TEMPLATE} with an agent id (letters, digits and . _ : @ -)`,
    )
  }
  const parsed = InboxQuerySchema.safeParse(
    Object.fromEntries(new URLSearchParams(at === -1 ? '' : raw!.slice(at + 1))),
  )
  if (!parsed.success) {
    throw new McpError(
      ErrorCode.InvalidParams,
      `Invalid inbox URI ${uri.href}: ${parsed.error.issues
        .map((i) =>
          i.code === 'unrecognized_keys'
            ? `unknown parameter ${safeLine(i.keys.join(', '))}`
            : `${i.path.join('.')}: ${i.message}`,
        )
        .join('; ')} (it takes ?limit=1-${INBOX_READ_MAX}&before=<nextBefore of the previous page>)`,
    )
  }
  return { agentId, query: parsed.data }
}

/** Refuses, in a session bound to an agent, to read or subscribe to another agent's inbox. */
export function assertOwnInbox(identity: SessionIdentity, agentId: string): void {
  const own = identity.readsAs
  if (own !== undefined && agentId !== own) {
    throw new McpError(
      ErrorCode.InvalidParams,
      `This session acts as '${own}': the inbox of '${agentId}' is not its to read (read ${inboxUri(own)})`,
    )
  }
}

/** Registers the inbox and conversation resources. */
export function registerResources(
  server: McpServer,
  coordinator: Coordinator,
  identity: SessionIdentity,
): void {
  server.registerResource(
    'inbox',
    new ResourceTemplate(INBOX_URI_TEMPLATE, {
      // A bound session lists, and reads, its own agent's inbox only.
      list: async () => ({
        resources: (await coordinator.agents())
          .filter((agent) => identity.readsAs === undefined || agent.agentId === identity.readsAs)
          .map((agent) => ({
            uri: inboxUri(agent.agentId),
            name: `inbox of ${agent.agentId}`,
            title: `Inbox of ${agent.agentId}`,
            mimeType: 'application/json',
          })),
      }),
    }),
    {
      title: 'Agent inbox',
      description: prose`
        The messages waiting for an agent (queued or leased), most urgent first: a read-only peek that claims
        nothing. Append ?limit=N (1-100, default 50) for a shorter page and &before=<nextBefore> for the next
        one. Subscribe to be notified when a new message arrives; claim messages with comm_poll.
      `,
      mimeType: 'application/json',
    },
    async (uri, variables) => {
      const value = variables.agent
      const { agentId, query } = inboxRequest(uri, Array.isArray(value) ? value.join(',') : value)
      assertOwnInbox(identity, agentId)
      const [profile, waiting] = await Promise.all([
        coordinator.agent(agentId),
        peekInbox(coordinator, agentId, query.before === undefined ? query.limit + 1 : INBOX_SCAN_MAX),
      ])
      let start = 0
      if (query.before !== undefined) {
        start = waiting.findIndex((entry) => entry.message.id === query.before) + 1
        if (start === 0) {
          throw new McpError(
            ErrorCode.InvalidParams,
            `Message '${query.before}' is no longer waiting for '${agentId}' (acked, expired or failed since): read ${inboxUri(agentId)} again from the start`,
          )
        }
      }
      const pending = waiting.slice(start, start + query.limit)
      const nextBefore = waiting.length > start + pending.length ? pending.at(-1)?.message.id : undefined
      return json(uri, {
        agentId,
        registered: profile !== undefined,
        count: pending.length,
        messages: pending.map(({ message, delivery }) => ({
          // A peek for orientation: long bodies are trimmed (the marker names the tool that reads them).
          message: trimmed(message, { include_bodies: true, max_body_chars: DEFAULT_READ_BODY_CHARS }),
          delivery: {
            status: delivery.status,
            attempt: delivery.attempt,
            maxAttempts: delivery.maxAttempts,
            leaseUntil: delivery.leaseUntil,
            availableAt: delivery.availableAt,
            lastError: delivery.lastError,
          },
        })),
        nextBefore,
        note:
          profile === undefined
            ? `Agent '${agentId}' is not registered: register it with comm_register_agent to receive messages.`
            : `A peek: nothing was claimed. Claim these with comm_poll (agent_id: '${agentId}'), then ack each with comm_ack.${
                nextBefore === undefined
                  ? ''
                  : ` More wait after these: read ${inboxUri(agentId)}?limit=${query.limit}&before=${nextBefore}.`
              }`,
      })
    },
  )

  server.registerResource(
    'conversation',
    new ResourceTemplate(CONVERSATION_URI_TEMPLATE, {
      list: async () => ({
        resources: (await coordinator.conversations({ limit: 50, visibleTo: identity.readsAs })).map((c) => ({
          uri: conversationUri(c.conversationId),
          name: `conversation ${c.conversationId}`,
          // Titles are shown in the client's resource pickers: a subject is hostile text.
          title: c.subject === '' ? `Conversation ${c.conversationId}` : safeLine(c.subject),
          description: `${plural(c.messageCount, 'message')} between ${c.participants.join(', ')}; last activity ${c.lastActivity}`,
          mimeType: 'application/json',
        })),
      }),
    }),
    {
      title: 'Conversation',
      description: 'Every message of a conversation (a thread of messages and replies), oldest first.',
      mimeType: 'application/json',
    },
    async (uri, variables) => {
      const conversationId = variable(variables, 'id')
      if (conversationId === undefined || conversationId === '') {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Invalid conversation URI ${uri.href}: expected ${CONVERSATION_URI_TEMPLATE}`,
        )
      }
      const messages = await coordinator.conversation(conversationId, { visibleTo: identity.readsAs })
      if (messages.length === 0) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Conversation '${safeLine(conversationId)}' has no messages. List conversations with comm_list_conversations; expired and cleaned-up messages are gone.`,
        )
      }
      return json(uri, { conversationId, count: messages.length, messages })
    },
  )
  withdrawResourceListChanged(server)
}

/**
 * Takes back the `resources.listChanged` the SDK declares when a resource is registered: the lists (an inbox
 * per registered agent, the recent conversations) change with every registration and message and the server
 * sends no `notifications/resources/list_changed` for them, so declaring it would tell a client it may cache
 * the list until told otherwise. Clients list again when they need to (see the README). The SDK keeps the
 * capabilities it answers `initialize` with behind a method TypeScript calls private; resources.test
 * checks `initialize`, so an SDK that moves it fails there.
 */
function withdrawResourceListChanged(server: McpServer): void {
  const declared = (server.server as unknown as { getCapabilities(): ServerCapabilities }).getCapabilities()
  if (declared.resources !== undefined) delete declared.resources.listChanged
}
