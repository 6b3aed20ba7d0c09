import {
  AgentIdSchema,
  claimLimitSchema,
  DEFAULT_CLAIM_LIMIT,
  DEFAULT_LEASE_SECONDS,
  DelaySecondsSchema,
  LeaseSecondsSchema,
  MAX_NACK_REASON_LENGTH,
  MessageIdSchema,
} from '@agent-comm/protocol'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { budgetShape, DEFAULT_CLAIM_BODY_CHARS, trimmed } from '../budget.js'
import { formatClaimed, formatDelivery, formatMessage, plural } from '../format.js'
import { prose } from '../prose.js'
import { AckOutputShape, NackOutputShape, PollOutputShape, StatusOutputShape } from '../schemas.js'
import { Behaviour, registerTool, type ToolContext, type ToolExtra } from '../tool-kit.js'

/** Most messages one comm_poll claims: fewer than the library's 1000, each message costs the model tokens. */
const MAX_TOOL_CLAIM_LIMIT = 100

/** Longest wait comm_poll accepts in total; each call waits at most {@link CALL_WAIT_CAP_MS}. */
export const MAX_POLL_WAIT_SECONDS = 3600

/**
 * Longest a single call waits: clients time a request out after 60 s (the SDK's default, Codex's
 * `tool_timeout_sec`), so a longer wait returns after 50 s with the seconds left, to call again.
 */
export const CALL_WAIT_CAP_MS = 50_000

/** How often a waiting comm_poll reports progress to a client that asked for it (keeps its timeout alive). */
const PROGRESS_INTERVAL_MS = 10_000

/**
 * Sends `notifications/progress` every 10 s while a long poll waits, if the client gave a progress token;
 * clients that reset their timeout on progress then never time the wait out. Returns the stop function.
 */
function reportProgress(extra: ToolExtra, agentId: string, waitSeconds: number): () => void {
  const progressToken = extra._meta?.progressToken
  if (progressToken === undefined) return () => {}
  let ticks = 0
  const timer = setInterval(() => {
    ticks++
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: {
          progressToken,
          progress: (ticks * PROGRESS_INTERVAL_MS) / 1000,
          total: waitSeconds,
          message: `waiting for messages for '${agentId}'`,
        },
      })
      .catch(() => clearInterval(timer))
  }, PROGRESS_INTERVAL_MS)
  timer.unref()
  return () => clearInterval(timer)
}

/** comm_poll, comm_ack, comm_nack, comm_message_status. */
export function registerDeliveryTools(server: McpServer, context: ToolContext): void {
  const { coordinator } = context

  registerTool(
    server,
    context,
    'comm_poll',
    {
      title: 'Receive messages',
      description: prose`
        Claim the messages waiting for an agent (most urgent first, then oldest). Each claimed message is
        leased to you for lease_seconds: other pollers do not get it meanwhile, and it is delivered again if
        you neither ack nor nack it in time. This is not a read-only peek (read the resource
        agent-comm://inbox/{agent} for that). With wait_seconds it waits up to that long for a first message
        and returns as soon as one arrives. Next: handle each message, answer with comm_reply if the sender
        expects an answer, then ack it with comm_ack using its message_id and receipt; nack it with comm_nack
        if you cannot handle it.
      `,
      inputSchema: {
        agent_id: AgentIdSchema.describe('your agent id (the recipient)'),
        limit: claimLimitSchema(MAX_TOOL_CLAIM_LIMIT)
          .default(DEFAULT_CLAIM_LIMIT)
          .describe(`claim at most this many (1-${MAX_TOOL_CLAIM_LIMIT}, default ${DEFAULT_CLAIM_LIMIT})`),
        lease_seconds: LeaseSecondsSchema.optional().describe(
          `how long you have to ack each message before it is redelivered (default ${DEFAULT_LEASE_SECONDS})`,
        ),
        wait_seconds: z
          .number()
          .min(0)
          .max(MAX_POLL_WAIT_SECONDS)
          .optional()
          .describe(
            'wait up to this many seconds for a first message when none is waiting; one call waits at most 50 s and then returns continue_wait_seconds to call again with',
          ),
        ...budgetShape(DEFAULT_CLAIM_BODY_CHARS),
      },
      outputSchema: {
        ...PollOutputShape,
        continueWaitSeconds: z
          .number()
          .optional()
          .describe(
            'the wait was cut at the per-call cap: call again with this wait_seconds to keep waiting',
          ),
      },
      behaviour: Behaviour.adds,
      actsAs: { parameter: 'agent_id', registered: false },
    },
    async (args, extra) => {
      const asked = args.wait_seconds ?? 0
      const capMs = context.callWaitCapMs ?? CALL_WAIT_CAP_MS
      const waitSeconds = Math.min(asked, capMs / 1000)
      const stopProgress = waitSeconds > 0 ? reportProgress(extra, args.agent_id, waitSeconds) : () => {}
      let messages: Awaited<ReturnType<typeof coordinator.poll>>
      try {
        messages = await coordinator.poll(args.agent_id, {
          limit: args.limit,
          leaseSeconds: args.lease_seconds,
          ...(waitSeconds > 0 ? { waitMs: Math.round(waitSeconds * 1000), signal: extra.signal } : {}),
        })
      } finally {
        stopProgress()
      }
      const agent = args.agent_id
      const shown = messages.map((claimed) => ({ ...claimed, message: trimmed(claimed.message, args) }))
      const left = Math.round((asked - waitSeconds) * 1000) / 1000
      const continueWait = messages.length === 0 && left > 0 && !extra.signal.aborted ? left : undefined
      const text =
        messages.length === 0
          ? `No messages waiting for '${agent}'${waitSeconds > 0 ? ` (waited ${waitSeconds} s)` : ''}. ${
              continueWait === undefined
                ? 'Poll again later, or pass wait_seconds to wait for one.'
                : `To keep waiting, call comm_poll again with wait_seconds: ${continueWait}.`
            }`
          : [
              `Claimed ${plural(messages.length, 'message')} for '${agent}'. Handle each one, reply with comm_reply if the sender expects an answer, then ack it with comm_ack (message_id, agent_id: '${agent}', receipt) before its lease ends; nack it with comm_nack (with a reason) if you cannot handle it.`,
              ...shown.map((claimed, index) => formatClaimed(claimed, index, messages.length)),
            ].join('\n\n')
      return {
        text,
        data: {
          agentId: agent,
          count: messages.length,
          messages: shown,
          continueWaitSeconds: continueWait,
        },
      }
    },
  )

  registerTool(
    server,
    context,
    'comm_ack',
    {
      title: 'Acknowledge a message',
      description: prose`
        Mark a message you claimed with comm_poll as handled, so it is never delivered again. Call it after
        you have acted on the message (and replied, if needed). Pass the receipt from comm_poll: it proves
        your lease is still yours, and the ack fails with LEASE_LOST if the lease ran out and someone else
        claimed it. Acking twice is harmless.
      `,
      inputSchema: {
        message_id: MessageIdSchema.describe('id of the message to acknowledge'),
        agent_id: AgentIdSchema.describe('the agent that claimed it (you)'),
        receipt: z.string().min(1).optional().describe('the receipt comm_poll returned with the message'),
      },
      outputSchema: AckOutputShape,
      behaviour: Behaviour.upserts,
      actsAs: { parameter: 'agent_id', registered: false },
    },
    async (args) => {
      // A wrong receipt on a live lease comes back as INVALID_STATE, not LEASE_LOST: the coordinator tells.
      const result = await coordinator.ack(args.message_id, args.agent_id, { receipt: args.receipt })
      const text = result.alreadyAcked
        ? `Message ${result.messageId} was already acknowledged by '${result.recipient}'; nothing changed.`
        : `Acknowledged message ${result.messageId} for '${result.recipient}': it will not be delivered again.`
      return { text, data: result }
    },
  )

  registerTool(
    server,
    context,
    'comm_nack',
    {
      title: 'Hand a message back',
      description: prose`
        Give back a message you claimed but cannot handle, with the reason. It is delivered again (after
        delay_seconds) until it runs out of attempts, then it is dead-lettered (failed). Use dead_letter: true
        for a failure a retry cannot fix (malformed task, not your capability). The sender can see the reason
        with comm_message_status.
      `,
      inputSchema: {
        message_id: MessageIdSchema.describe('id of the message to hand back'),
        agent_id: AgentIdSchema.describe('the agent that claimed it (you)'),
        reason: z
          .string()
          .min(1)
          .max(MAX_NACK_REASON_LENGTH)
          .describe('why you could not handle it (kept as its last error)'),
        delay_seconds: DelaySecondsSchema.optional().describe(
          'seconds before it is delivered again, at most a year (default: the retry backoff)',
        ),
        dead_letter: z.boolean().optional().describe('fail it now instead of retrying'),
        receipt: z.string().min(1).optional().describe('the receipt comm_poll returned with the message'),
      },
      outputSchema: NackOutputShape,
      behaviour: Behaviour.changes,
      actsAs: { parameter: 'agent_id', registered: false },
    },
    async (args) => {
      const result = await coordinator.nack(args.message_id, args.agent_id, {
        reason: args.reason,
        delaySeconds: args.delay_seconds,
        deadLetter: args.dead_letter,
        receipt: args.receipt,
      })
      const text =
        result.status === 'failed'
          ? `Message ${result.messageId} for '${result.recipient}' is dead-lettered (failed after attempt ${result.attempt} of ${result.maxAttempts}); it will not be delivered again.`
          : `Message ${result.messageId} for '${result.recipient}' is queued again (attempt ${result.attempt} of ${result.maxAttempts} used)${
              result.availableAt === undefined ? '' : `, visible from ${result.availableAt}`
            }.`
      return { text, data: result }
    },
  )

  registerTool(
    server,
    context,
    'comm_message_status',
    {
      title: 'Check a message',
      description: prose`
        Show a message and where each of its deliveries stands: queued (not yet claimed), leased (being
        handled), acked (done), failed (dead-lettered, with the last error) or expired. Use it to follow up on
        a message you sent, or to inspect one before acking or nacking it.
      `,
      inputSchema: { message_id: MessageIdSchema.describe('id of the message') },
      outputSchema: StatusOutputShape,
      behaviour: Behaviour.reads,
      actsAs: null,
    },
    async (args) => {
      const status = await coordinator.status(args.message_id)
      context.identity.assertMayRead(status)
      const text = [
        formatMessage(status.message),
        `deliveries (${status.deliveries.length}):`,
        ...status.deliveries.map(formatDelivery),
      ].join('\n')
      return { text, data: status }
    },
  )
}
