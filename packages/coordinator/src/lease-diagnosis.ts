import { type DeliveryInfo, InvalidStateError, isAgentCommError } from '@agent-comm/protocol'

/** A receipt given by hand with a message id (not read from a claimed message), and what it was for. */
export interface ReceiptUse {
  messageId: string
  agentId: string
  receipt: string
}

/**
 * What a `LEASE_LOST` a transport reported for a receipt really was, given the delivery as it stands now
 * (`undefined` when it could not be looked up). A transport's fence only knows the receipt did not match,
 * and calls every mismatch a lost lease; but when the delivery is still leased to the agent and live, the
 * receipt was wrong (a typo, or one of an earlier claim) and nothing was claimed again; and when it was
 * never claimed, no receipt can match. Those two become `INVALID_STATE`; anything else stays the lost
 * lease. Only for receipts given by hand: a claimed message's own receipt is genuine, so a mismatch on it
 * is a lease lost to another claim even while the delivery is leased again. The CLI and the MCP tools both
 * get this answer from the coordinator.
 */
export function diagnoseReceipt(
  error: unknown,
  use: ReceiptUse,
  delivery: DeliveryInfo | undefined,
  now: number,
): unknown {
  if (!isAgentCommError(error, 'LEASE_LOST') || delivery === undefined) return error
  const { messageId, agentId, receipt } = use
  const details = { messageId, agentId, status: delivery.status, attempt: delivery.attempt }
  if (delivery.status === 'leased' && delivery.leaseUntil !== null && Date.parse(delivery.leaseUntil) > now) {
    return new InvalidStateError(
      `Wrong receipt for message '${messageId}': '${agentId}' holds a live lease on it (attempt ${delivery.attempt}, until ${delivery.leaseUntil}), but not with receipt '${receipt}'`,
      {
        hint: `Pass the receipt the claim of attempt ${delivery.attempt} returned (poll prints it): if that claim was yours, the lease is still yours. A receipt of an earlier attempt is stale: that lease ran out and the message was claimed again.`,
        details: { ...details, reason: 'WRONG_RECEIPT' },
      },
    )
  }
  if (delivery.status === 'queued' && delivery.attempt === 0) {
    return new InvalidStateError(
      `Message '${messageId}' for '${agentId}' is queued and has never been claimed, so no receipt can match: it is not leased by this agent`,
      {
        hint: 'Claim it first (poll) and pass the receipt the claim returns, or see its state with status.',
        details: { ...details, reason: 'NEVER_CLAIMED' },
      },
    )
  }
  return error
}
