// Human-readable output. The layouts of `agents` and `poll` follow the Python original's, so people and
// scripts used to it read this CLI's output the same way. Every string that came from an agent passes
// through terminal-text.ts (safeLine, or safeIndentedBlock for bodies): text mode never writes a raw control
// character to the terminal.
import type { Coordinator } from '@agent-comm/coordinator'
import type {
  AgentProfile,
  ClaimedMessage,
  DeliveryInfo,
  MessageStatus,
  MessageV2,
} from '@agent-comm/protocol'
import { safeIndentedBlock, safeLine } from './terminal-text.js'

type ConversationSummary = Awaited<ReturnType<Coordinator['conversations']>>[number]
type FailedDelivery = Awaited<ReturnType<Coordinator['listFailed']>>[number]

/** A list in Python's repr form, as the original printed capabilities: `['code', 'review']`. */
function pythonList(items: readonly string[]): string {
  return `[${items.map((item) => `'${item}'`).join(', ')}]`
}

/** `agent-a [active] caps=['code', 'review'] device=workstation transport=sqlite`, exactly as the original. */
export function agentLine(agent: AgentProfile): string {
  return safeLine(
    `${agent.agentId} [${agent.status}] caps=${pythonList(agent.capabilities)} device=${agent.device} transport=${agent.transport}`,
  )
}

/** A body, control characters escaped, its continuation lines indented under its label. */
function indentRest(text: string, indent: string): string {
  return safeIndentedBlock(text, indent).slice(indent.length)
}

/** Where a message sits in its thread: its conversation and, for a reply, the message it answers. */
function threadLines(message: MessageV2): string[] {
  return [
    `  Conversation: ${message.routing.conversationId}`,
    ...(message.routing.replyTo === undefined ? [] : [`  Reply to: ${message.routing.replyTo}`]),
  ]
}

/** One claimed message as the `poll` block: ID, From, Subject, …, Body. */
export function messageBlock(claimed: ClaimedMessage): string {
  const { message, lease } = claimed
  const lines = [
    `  ID: ${message.id}`,
    `  From: ${message.fromAgent}`,
    `  Subject: ${message.subject}`,
    `  Priority: ${message.priority}`,
    ...threadLines(message),
    `  Attempt: ${lease.attempt}/${lease.maxAttempts}`,
    `  Lease until: ${lease.leaseUntil}`,
    `  Receipt: ${lease.receipt}`,
    ...(message.payload === undefined
      ? []
      : [`  Payload: ${message.payload.type} ${JSON.stringify(message.payload.data)}`]),
  ].map(safeLine)
  return [...lines, `  Body: ${indentRest(message.body, '        ')}`].join('\n')
}

/** The `poll` output: `Found 2 message(s) for builder:` and a block per message. */
export function pollText(agent: string, messages: readonly ClaimedMessage[]): string {
  if (messages.length === 0) return `No messages for ${agent}.`
  return [`Found ${messages.length} message(s) for ${agent}:`, ...messages.map(messageBlock)].join('\n\n')
}

/**
 * A lease's end as a person should read it at `now`: a lease that already ran out still shows as leased in
 * the store until the next claim sweeps it back into the queue, so say that rather than `until <past time>`.
 */
export function leaseText(leaseUntil: string, now: number, live = 'leased until'): string {
  return Date.parse(leaseUntil) <= now
    ? `lease ran out at ${leaseUntil}, back in the queue at the next claim`
    : `${live} ${leaseUntil}`
}

function deliveryLine(delivery: DeliveryInfo, now: number): string {
  const parts = [
    `  ${delivery.recipient}`,
    delivery.status,
    `attempt ${delivery.attempt}/${delivery.maxAttempts}`,
    ...(delivery.leaseUntil === null
      ? []
      : [
          delivery.status === 'leased'
            ? leaseText(delivery.leaseUntil, now, 'lease until')
            : `lease until ${delivery.leaseUntil}`,
        ]),
    ...(delivery.status === 'queued' && delivery.availableAt !== null
      ? [`available at ${delivery.availableAt}`]
      : []),
    ...(delivery.ackedAt === null ? [] : [`acked at ${delivery.ackedAt}`]),
    ...(delivery.lastError === null ? [] : [`last error: ${delivery.lastError}`]),
  ]
  return safeLine(parts.join('  '))
}

/** The `status` output: the message, then every delivery with its state (leases read at `now`). */
export function statusText(status: MessageStatus, now: number = Date.now()): string {
  const { message, deliveries } = status
  return [
    `Message ${message.id}`,
    `  From: ${message.fromAgent}`,
    `  To: ${message.toAgent}`,
    `  Subject: ${message.subject}`,
    `  Priority: ${message.priority}`,
    `  Sent: ${message.timestamp}`,
    ...threadLines(message),
    `  TTL: ${message.routing.ttlHours}h`,
    ...(message.payload === undefined ? [] : [`  Payload: ${message.payload.type}`]),
    `Deliveries (${deliveries.length}):`,
  ]
    .map(safeLine)
    .concat(deliveries.map((delivery) => deliveryLine(delivery, now)))
    .join('\n')
}

/** One line per message: `2026-02-03T14:30:22Z msg_… architect -> builder "Task: Auth Module"`. */
export function messageLine(message: MessageV2): string {
  return safeLine(
    `  ${message.timestamp} ${message.id} ${message.fromAgent} -> ${message.toAgent} "${message.subject}" [${message.priority}]`,
  )
}

/** The `conversations` output. */
export function conversationsText(conversations: readonly ConversationSummary[]): string {
  if (conversations.length === 0) return 'No conversations.'
  return [
    `Conversations (${conversations.length}):`,
    ...conversations.map((c) =>
      safeLine(
        `  ${c.conversationId} "${c.subject}" ${c.messageCount} message(s) participants=${pythonList(c.participants)} last=${c.lastActivity}`,
      ),
    ),
  ].join('\n')
}

/** The `conversation <id>` output: every message, oldest first, with its body. */
export function conversationText(conversationId: string, messages: readonly MessageV2[]): string {
  return [
    safeLine(`Conversation ${conversationId} (${messages.length} message(s)):`),
    ...messages.map((m) =>
      [
        messageLine(m),
        ...(m.payload === undefined
          ? []
          : [safeLine(`      Payload: ${m.payload.type} ${JSON.stringify(m.payload.data)}`)]),
        safeIndentedBlock(m.body, '      '),
      ].join('\n'),
    ),
  ].join('\n')
}

/** The `search` output. */
export function searchText(messages: readonly MessageV2[]): string {
  if (messages.length === 0) return 'No messages found.'
  return [`Found ${messages.length} message(s):`, ...messages.map(messageLine)].join('\n')
}

/** The `failed` output: each dead-lettered delivery with the reason it failed. */
export function failedText(failed: readonly FailedDelivery[]): string {
  if (failed.length === 0) return 'No failed deliveries.'
  return [
    `Failed deliveries (${failed.length}):`,
    ...failed.map(({ message, delivery }) =>
      [
        `  ${message.id} -> ${delivery.recipient} attempt ${delivery.attempt}/${delivery.maxAttempts} "${message.subject}"`,
        `      from ${message.fromAgent} at ${message.timestamp}; last error: ${delivery.lastError ?? '(none)'}`,
      ]
        .map(safeLine)
        .join('\n'),
    ),
  ].join('\n')
}
