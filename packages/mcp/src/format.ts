// Text the model reads. Every id it needs for its next call (message id, receipt, conversation id) is in
// the text, because many clients show only the text content of a tool result.
import type { AgentProfile, ClaimedMessage, DeliveryInfo, MessageV2 } from '@agent-comm/protocol'

/** One message, header lines then the body. */
export function formatMessage(message: MessageV2): string {
  const lines = [
    `message_id: ${message.id}`,
    `from: ${message.fromAgent}  to: ${message.toAgent}  priority: ${message.priority}  sent: ${message.timestamp}`,
    `conversation_id: ${message.routing.conversationId}${
      message.routing.replyTo === undefined ? '' : `  (reply to ${message.routing.replyTo})`
    }`,
  ]
  if (message.subject !== '') lines.push(`subject: ${message.subject}`)
  if (message.payload !== undefined) {
    lines.push(`payload (${message.payload.type}): ${JSON.stringify(message.payload.data)}`)
  }
  lines.push('body:', message.body)
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
  if (delivery.lastError !== null) parts.push(`last error: ${delivery.lastError}`)
  return `- ${parts.join(', ')}`
}

/** One line per agent. */
export function formatAgent(agent: AgentProfile): string {
  const reach =
    agent.transport === 'http'
      ? ` via ${agent.relayUrl}`
      : agent.transport === 'file'
        ? ` via ${agent.inboxDir}`
        : ''
  const capabilities = agent.capabilities.length === 0 ? 'none' : agent.capabilities.join(', ')
  return `- ${agent.agentId} [${agent.status}] capabilities: ${capabilities}; device: ${agent.device}; transport: ${agent.transport}${reach}${
    agent.lastSeen === undefined ? '' : `; last seen ${agent.lastSeen}`
  }`
}

/** "1 message" / "2 messages". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}
