import { DeliveryNotFoundError, InvalidStateError, LeaseLostError } from '@agent-comm/protocol'
import type { DeliveryFiles } from './delivery-files.js'
import type { FoundDelivery } from './record.js'

/** Why no delivery file of `id` to `agent` was found: an unknown message or another recipient (one answer), or a lost file. */
export function missingDeliveryError(files: DeliveryFiles, id: string, agent: string): Error {
  const stored = files.readMessage(id)
  // An unknown message and one not sent to `agent` answer alike, as in the spool: no probing of which ids exist.
  if (stored === undefined || !stored.recipients.includes(agent)) return new DeliveryNotFoundError(id, agent)
  return new DeliveryNotFoundError(id, agent, {
    hint: `Its file is missing from ${files.layout.root}/{inbox,leased,acked,failed}/${agent}/: removed by hand, or the sender crashed while writing it.`,
  })
}

/** A nack of an acked delivery: refused, so an acked message is never resurrected. */
export function alreadyAckedError(id: string, agent: string): Error {
  return new InvalidStateError(
    `Message '${id}' was already acked by '${agent}'; a nack cannot bring it back`,
    {
      details: { messageId: id, agentId: agent, status: 'acked' },
    },
  )
}

/** An ack, nack or extendLease of a delivery that is not leased. */
export function notLeasedError(
  files: DeliveryFiles,
  id: string,
  agent: string,
  folder: FoundDelivery['folder'],
  receipt: string | undefined,
): Error {
  // A receipt for a delivery that is queued again means our claim was superseded: the lease was lost.
  if (receipt !== undefined && folder === 'inbox') return new LeaseLostError(id, agent)
  if (folder === 'failed') {
    return new InvalidStateError(`Message '${id}' for '${agent}' was dead-lettered (failed)`, {
      hint: `Its file is ${files.layout.deliveryFile('failed', agent, id)}`,
      details: { messageId: id, agentId: agent, status: 'failed' },
    })
  }
  const status = folder === 'inbox' ? 'queued' : folder
  return new InvalidStateError(
    `Message '${id}' for '${agent}' is ${status} and is not leased by this agent, so there is nothing to ack or nack. Claim it first, or see its state with status.`,
    { details: { messageId: id, agentId: agent, status } },
  )
}
