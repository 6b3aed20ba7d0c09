import type { DeliveryStatus, JsonObject, MessageV2, Payload } from '@agent-comm/protocol'
import { priorityFromRank } from '@agent-comm/protocol'
import type { DeliveryRow, MessageRow } from './schema.js'
import type { DeliveryInfo } from './types.js'

/** Column list that reads a `messages` row into {@link MessageRow} shape from hand-written SQL. */
export const MESSAGE_COLUMNS = `m.seq AS seq, m.id AS id, m.from_agent AS fromAgent, m.to_agent AS toAgent,
  m.subject AS subject, m.body AS body, m.priority AS priority, m.conversation_id AS conversationId,
  m.reply_to AS replyTo, m.ttl_hours AS ttlHours, m.payload AS payload, m.metadata AS metadata,
  m.created_at AS createdAt, m.expires_at AS expiresAt`

const iso = (ms: number): string => new Date(ms).toISOString()
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms))

/** Rebuilds the protocol message from its row. Stored JSON was validated when it was written. */
export function messageFromRow(row: MessageRow): MessageV2 {
  const message: MessageV2 = {
    id: row.id,
    version: '2.0',
    fromAgent: row.fromAgent,
    toAgent: row.toAgent,
    subject: row.subject,
    body: row.body,
    timestamp: iso(row.createdAt),
    priority: priorityFromRank(row.priority),
    routing:
      row.replyTo === null
        ? { conversationId: row.conversationId, ttlHours: row.ttlHours }
        : { replyTo: row.replyTo, conversationId: row.conversationId, ttlHours: row.ttlHours },
  }
  if (row.payload !== null) message.payload = JSON.parse(row.payload) as Payload
  if (row.metadata !== null) message.metadata = JSON.parse(row.metadata) as JsonObject
  return message
}

/** The public view of a delivery row. A live delivery past its TTL reads as `expired`. */
export function deliveryFromRow(row: DeliveryRow, now: number): DeliveryInfo {
  const live = row.status === 'queued' || row.status === 'leased'
  const status: DeliveryStatus = live && row.expiresAt <= now ? 'expired' : row.status
  return {
    recipient: row.recipient,
    status,
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    leaseUntil: row.status === 'leased' ? isoOrNull(row.leaseUntil) : null,
    availableAt: row.status === 'queued' ? iso(row.availableAt) : null,
    lastError: row.lastError,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    ackedAt: isoOrNull(row.ackedAt),
  }
}
