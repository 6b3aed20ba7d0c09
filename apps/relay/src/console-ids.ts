import { ForbiddenError, type MessageV2 } from '@agent-comm/protocol'

// The ids of the messages the console writes itself. They are deterministic, so sending a decision's message
// again (the outbox after a crash) is a reported duplicate and an escalation happens once; and they are the
// relay's alone: a client may not send a message with such an id (see `requireRelayOwnId`), so a message
// stored under one was written by the relay.
const DECISION_SUFFIX = '.decision'
const ESCALATION_SUFFIX = '.escalated'

/** The id of the `approval_response` the console sends for request `requestId`. */
export const responseIdOf = (requestId: string): string => `${requestId}${DECISION_SUFFIX}`

/** The id of the escalated copy the deadline sweep sends of request `requestId`. */
export const escalationIdOf = (requestId: string): string => `${requestId}${ESCALATION_SUFFIX}`

/**
 * The request a message answers for: the original of the relay's own escalated copy, or the message itself.
 * `metadata.approvalFor` is trusted only on a message whose id is that original's escalation id, which no
 * client can send: a forged `approvalFor` on any other message names nothing.
 */
export function originalIdOf(message: Pick<MessageV2, 'id' | 'metadata'>): string {
  const from = message.metadata?.approvalFor
  return typeof from === 'string' && message.id === escalationIdOf(from) ? from : message.id
}

/**
 * Refuses (FORBIDDEN) a message a client sends under an id the console keeps for its own messages: a
 * decision (`<request id>.decision`) or an escalated copy (`<request id>.escalated`). Such a message would
 * stand for a person's decision, or hide a request from the people asked to decide it.
 */
export function requireClientMessageId(messageId: string, path: string): void {
  const suffix = [DECISION_SUFFIX, ESCALATION_SUFFIX].find((s) => messageId.endsWith(s))
  if (suffix === undefined) return
  throw new ForbiddenError(
    `Refused: message id '${messageId}' ends in '${suffix}', which the relay keeps for the console's approval decisions and escalations (${path})`,
    {
      hint: `Give the message a new id (createMessage makes one), one that does not end in '${DECISION_SUFFIX}' or '${ESCALATION_SUFFIX}'. A person decides an approval request in the console.`,
      details: { messageId },
    },
  )
}
