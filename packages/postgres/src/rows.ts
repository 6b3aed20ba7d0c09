/**
 * Local equivalents of the spool's row readers (`storedMessageFromRow`, `deliveryFromRow`), until
 * `@agent-comm/spool/store` exports them: the integrator switches these imports to that subpath and
 * deletes this file. They follow packages/spool/src/rows.ts exactly.
 */
import type { DeliveryStatus, JsonObject, MessageV2, Payload } from '@agent-comm/protocol'
import { priorityFromRank } from '@agent-comm/protocol'
import type { DeliveryInfo, MessageRecord, StoredMessage, UnreadableColumn } from '@agent-comm/spool'

/** A stored delivery row, as the read-side queries alias it. */
export interface DeliveryRecord {
  recipient: string
  status: 'queued' | 'leased' | 'acked' | 'failed' | 'expired'
  attempt: number
  maxAttempts: number
  availableAt: number
  leaseUntil: number | null
  expiresAt: number
  lastError: string | null
  createdAt: number
  updatedAt: number
  ackedAt: number | null
}

const iso = (ms: number): string => new Date(ms).toISOString()
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms))

function envelopeFromRow(row: MessageRecord): MessageV2 {
  return {
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
}

/** The message of a row as stored; a JSON column that does not parse is left out and named in `unreadable`. */
export function storedMessageFromRow(row: MessageRecord): StoredMessage {
  const message = envelopeFromRow(row)
  const unreadable: UnreadableColumn[] = []
  for (const column of ['payload', 'metadata'] as const) {
    const text = row[column]
    if (text === null) continue
    try {
      const value: unknown = JSON.parse(text)
      if (column === 'payload') message.payload = value as Payload
      else message.metadata = value as JsonObject
    } catch {
      unreadable.push({ column, reason: 'is not valid JSON' })
    }
  }
  return unreadable.length === 0 ? { message } : { message, unreadable }
}

/** The public view of a delivery row. A live delivery past its TTL reads as `expired`. */
export function deliveryFromRow(row: DeliveryRecord, now: number): DeliveryInfo {
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

/** A row type as `SqlQueryable.query` returns it (an object keyed by column alias). */
export type Row<T> = T & Record<string, unknown>
