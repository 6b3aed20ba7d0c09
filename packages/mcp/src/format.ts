// Text the model reads. Every id it needs for its next call (message id, receipt, conversation id) is in
// the text, because many clients show only the text content of a tool result. What another agent wrote
// (subject, body, payload, device, reasons) is hostile: clients print this text in a terminal, so it goes
// through safeLine (one line, line breaks shown as `\n`, so a subject cannot forge a `receipt:` line) or
// safeIndentedBlock (a body keeps its lines, each quoted with `> `, so none can pass for a header line or
// another message's block), which show every control character escaped.
import type { AgentProfile, ClaimedMessage, DeliveryInfo, MessageV2 } from '@agent-comm/protocol'
import { safeIndentedBlock, safeLine } from '@agent-comm/protocol/terminal-text'

/** A body as the model reads it: each line quoted with `> `, control characters escaped. */
export function quotedBody(body: string): string {
  return safeIndentedBlock(body, '> ')
}

/** One message, header lines then the body. */
export function formatMessage(message: MessageV2): string {
  const lines = [
    `message_id: ${message.id}`,
    `from: ${message.fromAgent}  to: ${message.toAgent}  priority: ${message.priority}  sent: ${message.timestamp}`,
    `conversation_id: ${message.routing.conversationId}${
      message.routing.replyTo === undefined ? '' : `  (reply to ${message.routing.replyTo})`
    }`,
  ]
  if (message.subject !== '') lines.push(`subject: ${safeLine(message.subject)}`)
  if (message.payload !== undefined) {
    lines.push(`payload (${message.payload.type}): ${safeLine(JSON.stringify(message.payload.data))}`)
  }
  lines.push('body:', quotedBody(message.body))
  return lines.join('\n')
}

/** A claimed message with the lease facts needed to ack or nack it. */
export function formatClaimed(claimed: ClaimedMessage, index: number, total: number): string {
  const { lease } = claimed
  return [
    `--- message ${index + 1} of ${total} ---`,
    formatMessage(claimed.message),
    `receipt: ${lease.receipt}  (attempt ${lease.attempt} of ${lease.maxAttempts}, leased until ${lease.leaseUntil})`,
  ].join('\n')
}

/** One line per delivery: who, where it stands, attempts and last error. */
export function formatDelivery(delivery: DeliveryInfo): string {
  const parts = [
    `${delivery.recipient}: ${delivery.status}`,
    `attempt ${delivery.attempt}/${delivery.maxAttempts}`,
  ]
  if (delivery.leaseUntil !== null) parts.push(`leased until ${delivery.leaseUntil}`)
  if (delivery.availableAt !== null) parts.push(`available at ${delivery.availableAt}`)
  if (delivery.ackedAt !== null) parts.push(`acked at ${delivery.ackedAt}`)
  if (delivery.lastError !== null) parts.push(`last error: ${safeLine(delivery.lastError)}`)
  return `- ${parts.join(', ')}`
}

/** One line per agent. */
export function formatAgent(agent: AgentProfile): string {
  const reach =
    agent.transport === 'http'
      ? ` via ${safeLine(agent.relayUrl ?? '')}`
      : agent.transport === 'file'
        ? ` via ${safeLine(agent.inboxDir ?? '')}`
        : ''
  const capabilities = agent.capabilities.length === 0 ? 'none' : safeLine(agent.capabilities.join(', '))
  return `- ${agent.agentId} [${agent.status}] capabilities: ${capabilities}; device: ${safeLine(agent.device)}; transport: ${agent.transport}${reach}${
    agent.lastSeen === undefined ? '' : `; last seen ${agent.lastSeen}`
  }`
}

/** "1 message" / "2 messages". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}
