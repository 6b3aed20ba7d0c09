import { AgentIdSchema, MAX_LIST_LIMIT, type MessageV2 } from '@agent-comm/protocol'
import { safeLine } from '@agent-comm/protocol/terminal-text'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { plural } from '../format.js'
import { prose } from '../prose.js'
import { Behaviour, registerTool, type ToolContext } from '../tool-kit.js'

/** Threads looked at for "awaiting my reply". */
const RECENT_THREADS = 10
/** Waiting deliveries counted. */
const WAITING_SCAN = 500

const Brief = z.object({
  messageId: z.string(),
  from: z.string(),
  subject: z.string(),
  priority: z.string(),
  sent: z.string(),
})

function brief(message: MessageV2): z.output<typeof Brief> {
  return {
    messageId: message.id,
    from: message.fromAgent,
    subject: message.subject,
    priority: message.priority,
    sent: message.timestamp,
  }
}

/** comm_start_session: one call to orient a new session. */
export function registerSessionTools(server: McpServer, context: ToolContext): void {
  const { coordinator } = context

  registerTool(
    server,
    context,
    'comm_start_session',
    {
      title: 'Start a session',
      description: prose`
        Call once at the start of a session: registers your agent if needed, marks it alive and returns a
        digest of your inbox: waiting messages by priority, the oldest one, threads whose last message waits
        for your reply, messages of yours that failed, and the inbox cursor (newest message id) to compare
        with later. Next: claim waiting messages with comm_poll.
      `,
      inputSchema: {
        agent_id: AgentIdSchema.describe('your agent id (the recipient)'),
      },
      outputSchema: {
        agentId: z.string(),
        waiting: z.object({
          total: z.number().int(),
          critical: z.number().int(),
          high: z.number().int(),
          normal: z.number().int(),
          low: z.number().int(),
        }),
        oldestWaiting: Brief.optional(),
        awaitingReply: z.array(Brief.extend({ conversationId: z.string() })),
        failedSent: z.number().int().describe('messages you sent whose delivery was dead-lettered'),
        cursor: z.string().optional().describe('id of the newest message addressed to you'),
      },
      behaviour: Behaviour.upserts,
      actsAs: { parameter: 'agent_id', registered: false },
    },
    async (args) => {
      const agent = args.agent_id
      if ((await coordinator.agent(agent)) === undefined) {
        await coordinator.register({ agentId: agent, capabilities: [] })
      }
      await coordinator.heartbeat(agent)
      const pending = await coordinator.peek(agent, { limit: WAITING_SCAN })
      const waiting = { total: pending.length, critical: 0, high: 0, normal: 0, low: 0 }
      for (const { message } of pending) waiting[message.priority] += 1
      const oldest = pending.map((p) => p.message).sort((a, b) => a.timestamp.localeCompare(b.timestamp))[0]
      const threads = await coordinator.conversations({ agent, limit: RECENT_THREADS })
      const awaitingReply = []
      for (const thread of threads) {
        const last = (await coordinator.conversation(thread.conversationId)).at(-1)
        if (last !== undefined && last.toAgent === agent && last.fromAgent !== agent) {
          awaitingReply.push({ ...brief(last), conversationId: thread.conversationId })
        }
      }
      const failedSent = (await coordinator.listFailed({ limit: MAX_LIST_LIMIT })).filter(
        (f) => f.message.fromAgent === agent,
      ).length
      const cursor = (await coordinator.search({ to: agent, limit: 1 }))[0]?.id
      const lines = [
        `Session started as '${agent}'. ${plural(waiting.total, 'message')} waiting (critical ${waiting.critical}, high ${waiting.high}, normal ${waiting.normal}, low ${waiting.low}).`,
      ]
      if (oldest !== undefined) {
        lines.push(
          `Oldest waiting: ${oldest.id} from ${oldest.fromAgent}, "${safeLine(oldest.subject)}", sent ${oldest.timestamp}.`,
        )
      }
      if (awaitingReply.length > 0) {
        lines.push(
          `Threads awaiting your reply: ${awaitingReply.map((t) => `${t.conversationId} (last: ${t.messageId} from ${t.from})`).join('; ')}.`,
        )
      }
      if (failedSent > 0)
        lines.push(`${plural(failedSent, 'message')} you sent failed: see comm_message_status.`)
      lines.push(
        waiting.total > 0
          ? `Next: claim them with comm_poll (agent_id: '${agent}').`
          : `Next: wait for work with comm_poll (wait_seconds: 50).`,
      )
      return {
        text: lines.join('\n'),
        data: {
          agentId: agent,
          waiting,
          oldestWaiting: oldest === undefined ? undefined : brief(oldest),
          awaitingReply,
          failedSent,
          cursor,
        },
      }
    },
  )
}
