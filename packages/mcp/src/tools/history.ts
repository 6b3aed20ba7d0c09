import {
  AgentIdSchema,
  ConversationIdSchema,
  ConversationSummarySchema,
  Limits,
  ListLimitSchema,
  MAX_LIST_LIMIT,
  MessageIdSchema,
  type MessageV2,
  ValidationError,
} from '@agent-comm/protocol'
import { safeLine } from '@agent-comm/protocol/terminal-text'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { before, budgetShape, DEFAULT_READ_BODY_CHARS, trimmed } from '../budget.js'
import { formatMessage, plural } from '../format.js'
import { prose } from '../prose.js'
import { MessageOutputSchema } from '../schemas.js'
import { Behaviour, registerTool, type ToolContext } from '../tool-kit.js'

/** Rows a history tool returns when it names no limit: fewer than the library's, to spare tokens. */
const DEFAULT_TOOL_LIST_LIMIT = 20

const toolListLimit = ListLimitSchema.default(DEFAULT_TOOL_LIST_LIMIT).describe(
  `at most this many (default ${DEFAULT_TOOL_LIST_LIMIT})`,
)

/** comm_get_conversation, comm_list_conversations, comm_search. */
export function registerHistoryTools(server: McpServer, context: ToolContext): void {
  const { coordinator } = context

  registerTool(
    server,
    context,
    'comm_get_conversation',
    {
      title: 'Read a conversation',
      description: prose`
        Read every message of a conversation (a thread of messages and replies), oldest first. Give the
        conversation_id from a message, or any message_id in the thread. Use it to catch up on a thread before
        answering, or to read the replies to something you sent. Reading does not claim or ack anything.
      `,
      inputSchema: {
        conversation_id: ConversationIdSchema.optional().describe('the conversation id (conv_…)'),
        message_id: MessageIdSchema.optional().describe('or: any message of the conversation'),
        limit: ListLimitSchema.default(DEFAULT_TOOL_LIST_LIMIT).describe(
          `at most this many messages, the newest ones (default ${DEFAULT_TOOL_LIST_LIMIT})`,
        ),
        before: MessageIdSchema.optional().describe(
          'page back: only messages older than this message id (the next_before of the previous page)',
        ),
        ...budgetShape(DEFAULT_READ_BODY_CHARS),
      },
      outputSchema: {
        conversationId: z.string(),
        total: z.number().int().describe('messages in the whole conversation'),
        count: z.number().int(),
        messages: z.array(MessageOutputSchema),
        nextBefore: z
          .string()
          .optional()
          .describe('pass as before to read the older messages; absent when this page reaches the start'),
      },
      behaviour: Behaviour.reads,
      actsAs: null,
    },
    async (args) => {
      if ((args.conversation_id === undefined) === (args.message_id === undefined)) {
        throw new ValidationError('Invalid arguments: give either conversation_id or message_id', [
          { path: 'conversation_id', message: 'give exactly one of conversation_id and message_id' },
        ])
      }
      const readsAs = context.identity.readsAs
      let conversationId = args.conversation_id
      if (conversationId === undefined) {
        const status = await coordinator.status(args.message_id!)
        context.identity.assertMayRead(status)
        conversationId = status.message.routing.conversationId
      }
      // A bound session reads a thread through its own agent's messages only.
      const all = await coordinator.conversation(conversationId, { visibleTo: readsAs })
      let older = all
      if (args.before !== undefined) {
        const cursor = all.find((m) => m.id === args.before)
        if (cursor === undefined) {
          throw new ValidationError(
            `Invalid arguments: before '${args.before}' is not in conversation '${conversationId}'`,
            [
              {
                path: 'before',
                message: 'must be a message id of this conversation (next_before of the previous page)',
              },
            ],
          )
        }
        older = all.filter((m) => before(m, cursor))
      }
      const page = older.slice(Math.max(0, older.length - args.limit))
      const messages = page.map((m) => trimmed(m, args))
      const nextBefore = page.length < older.length ? page[0]?.id : undefined
      const text =
        all.length === 0
          ? `No messages in conversation '${conversationId}'. Check the id with comm_list_conversations; expired and cleaned-up messages are gone.`
          : [
              `Conversation ${conversationId}: ${plural(all.length, 'message')}; showing ${page.length}, oldest first.${
                nextBefore === undefined ? '' : ` Older ones: call again with before: '${nextBefore}'.`
              }`,
              ...messages.map(
                (m, i) =>
                  `--- ${older.length - page.length + i + 1} of ${all.length} ---\n${formatMessage(m)}`,
              ),
            ].join('\n\n')
      return {
        text,
        data: {
          conversationId,
          total: all.length,
          count: messages.length,
          messages,
          nextBefore,
        },
      }
    },
  )

  registerTool(
    server,
    context,
    'comm_list_conversations',
    {
      title: 'List conversations',
      description: prose`
        List conversations, most recently active first, with subject, participants and message count. Filter
        by agent_id to see the threads an agent took part in. Next: read one with comm_get_conversation.
      `,
      inputSchema: {
        agent_id: AgentIdSchema.optional().describe('only conversations this agent took part in'),
        limit: toolListLimit,
      },
      outputSchema: { count: z.number().int(), conversations: z.array(ConversationSummarySchema) },
      behaviour: Behaviour.reads,
      actsAs: null,
    },
    async (args) => {
      const conversations = await coordinator.conversations({
        limit: args.limit,
        agent: args.agent_id,
        visibleTo: context.identity.readsAs,
      })
      const text =
        conversations.length === 0
          ? 'No conversations yet. Start one with comm_send.'
          : [
              `${plural(conversations.length, 'conversation')}, most recent first:`,
              ...conversations.map(
                (c) =>
                  `- ${c.conversationId}: "${safeLine(c.subject)}" — ${plural(c.messageCount, 'message')} between ${c.participants.join(', ')}; last activity ${c.lastActivity}`,
              ),
            ].join('\n')
      return { text, data: { count: conversations.length, conversations } }
    },
  )

  registerTool(
    server,
    context,
    'comm_search',
    {
      title: 'Search messages',
      description: prose`
        Find messages by words in the subject or body, sender, recipient, conversation and time, newest first.
        Use it to find an earlier message or its id. It reads history only: to receive messages use comm_poll.
      `,
      inputSchema: {
        text: z.string().min(1).max(1024).optional().describe('words to look for in subject and body'),
        from_agent: AgentIdSchema.optional().describe('sent by this agent'),
        to_agent: z.string().min(1).max(Limits.agentIdMaxLength).optional().describe('sent to this agent'),
        conversation_id: ConversationIdSchema.optional().describe('in this conversation'),
        since: z.iso
          .datetime({ offset: true })
          .optional()
          .describe('sent at or after this ISO-8601 time, e.g. 2026-01-31T09:00:00Z'),
        limit: toolListLimit,
        before: MessageIdSchema.optional().describe(
          'page on: only messages older than this message id (the next_before of the previous page)',
        ),
        ...budgetShape(DEFAULT_READ_BODY_CHARS),
      },
      outputSchema: {
        count: z.number().int(),
        messages: z.array(MessageOutputSchema),
        nextBefore: z.string().optional().describe('pass as before for the next (older) page'),
      },
      behaviour: Behaviour.reads,
      actsAs: null,
    },
    async (args) => {
      let cursor: MessageV2 | undefined
      if (args.before !== undefined) {
        const status = await coordinator.status(args.before)
        context.identity.assertMayRead(status)
        cursor = status.message
      }
      const found = await coordinator.search({
        visibleTo: context.identity.readsAs,
        // With a cursor the newer matches are skipped here, so ask for the most the library gives.
        limit: cursor === undefined ? Math.min(args.limit + 1, MAX_LIST_LIMIT) : MAX_LIST_LIMIT,
        text: args.text,
        from: args.from_agent,
        to: args.to_agent,
        conversationId: args.conversation_id,
        since: args.since,
      })
      const matching = cursor === undefined ? found : found.filter((m) => before(m, cursor))
      const page = matching.slice(0, args.limit)
      const messages = page.map((m) => trimmed(m, args))
      const nextBefore = matching.length > page.length ? page.at(-1)?.id : undefined
      const text =
        messages.length === 0
          ? 'No messages match.'
          : [
              `${plural(messages.length, 'message')} found, newest first.${
                nextBefore === undefined ? '' : ` More: call again with before: '${nextBefore}'.`
              }`,
              ...messages.map((m) => formatMessage(m)),
            ].join('\n\n')
      return {
        text,
        data: { count: messages.length, messages, nextBefore },
      }
    },
  )
}
