import type { ClaimedMessage } from '@agent-comm/protocol'
import { ClaimedMessageSchema, errorMessage, MessageIdSchema, toValidationError } from '@agent-comm/protocol'
import { z } from 'zod'

/**
 * A claim response as the client first reads it: the list, with each delivery still unchecked, so one
 * delivery it cannot read is set aside instead of failing the whole claim.
 */
export const ClaimEnvelopeSchema = z.object({ messages: z.array(z.unknown()) })

/**
 * Just enough of a delivery to give it back: its message id and the receipt of the claim. Only these keys
 * are read, so a delivery with hostile `metadata` or `payload` still yields them.
 */
const DeliveryHandleSchema = z.object({
  message: z.object({ id: MessageIdSchema }),
  lease: z.object({ receipt: z.string().min(1) }).optional(),
})

/** A delivery the client could not read, and what it knows of it. */
export interface UnreadableDelivery {
  /** The message id, when even that could not be read: undefined. */
  messageId: string | undefined
  receipt: string | undefined
  /** Why it could not be read, short enough to keep as the delivery's last error. */
  reason: string
}

/** A delivery as read: the claimed message, or why it could not be read. */
export type ReadDelivery =
  | { ok: true; claimed: ClaimedMessage }
  | { ok: false; unreadable: UnreadableDelivery }

/** Longest reason kept with a dead-lettered delivery (the nack reason limit is 64 KiB). */
const MAX_REASON_LENGTH = 2_000

function shorten(text: string): string {
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 1)}…`
}

/**
 * Checks one delivery of a claim response (parsed JSON) against the protocol. The protocol's JSON limits
 * are checked before anything recurses into the message, so no delivery can overflow the stack.
 */
export function readDelivery(raw: unknown, fallbackId?: string): ReadDelivery {
  const result = ClaimedMessageSchema.safeParse(raw)
  if (result.success) return { ok: true, claimed: result.data }
  const handle = DeliveryHandleSchema.safeParse(raw)
  const fallback = MessageIdSchema.safeParse(fallbackId)
  return {
    ok: false,
    unreadable: {
      messageId: handle.success ? handle.data.message.id : fallback.success ? fallback.data : undefined,
      receipt: handle.success ? handle.data.lease?.receipt : undefined,
      reason: shorten(toValidationError(result.error, 'delivery').message),
    },
  }
}

/** Reads one delivery sent as JSON text (a server-sent event), `fallbackId` being the event's id. */
export function readDeliveryText(text: string, fallbackId: string | undefined): ReadDelivery {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    const id = MessageIdSchema.safeParse(fallbackId)
    const why = errorMessage(error)
    return {
      ok: false,
      unreadable: {
        messageId: id.success ? id.data : undefined,
        receipt: undefined,
        reason: shorten(`Invalid delivery: not valid JSON (${why})`),
      },
    }
  }
  return readDelivery(raw, fallbackId)
}
