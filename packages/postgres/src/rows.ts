/**
 * Local equivalents of what `@agent-comm/spool/store` exports (the row readers `storedMessageFromRow`,
 * `deliveryFromRow`, the builders `statsFromCounts`, `conversationSummaryFromRecord`, and the
 * `DeliveryRecord`, `StatsCounts`, `ConversationRecord` types), with the same names and signatures, until that
 * subpath lands: then this file becomes re-exports from it, or its importers import from it directly. They
 * follow packages/spool/src/rows.ts exactly.
 */
import type { DeliveryStatus, JsonObject, MessageV2, Payload } from '@agent-comm/protocol'
import { DELIVERY_STATUSES, priorityFromRank } from '@agent-comm/protocol'
import type {
  ConversationSummary,
  DeliveryInfo,
  MessageRecord,
  SpoolStats,
  StoredMessage,
  UnreadableColumn,
} from '@agent-comm/spool'

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

/** The counts a store reads for {@link statsFromCounts}; every time in ms since epoch. */
export interface StatsCounts {
  /** Deliveries by status, a live one (queued or leased) past its TTL counted as `expired`. */
  byStatus: readonly { status: DeliveryStatus; count: number }[]
  /** Oldest `created_at` of a queued, due, unexpired delivery, or null. */
  oldestQueuedAt: number | null
  /** Oldest `updated_at` of a leased, unexpired delivery, or null. */
  oldestLeaseAt: number | null
  totalMessages: number
  /** Per recipient: queued and leased deliveries not expired, and failed ones. */
  perAgent: readonly { recipient: string; status: 'queued' | 'leased' | 'failed'; count: number }[]
}

/** Builds the spool's figures from a store's counts, so every store reports them alike. */
export function statsFromCounts(counts: StatsCounts, now: number): SpoolStats {
  const deliveries = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as Record<
    DeliveryStatus,
    number
  >
  for (const row of counts.byStatus) deliveries[row.status] += row.count
  const agents: SpoolStats['agents'] = {}
  for (const row of counts.perAgent) {
    agents[row.recipient] ??= { queued: 0, leased: 0, failed: 0 }
    agents[row.recipient]![row.status] = row.count
  }
  const finished = deliveries.acked + deliveries.failed
  return {
    totalMessages: counts.totalMessages,
    deliveries,
    oldestQueuedAgeMs: counts.oldestQueuedAt === null ? null : Math.max(0, now - counts.oldestQueuedAt),
    oldestLeaseAgeMs: counts.oldestLeaseAt === null ? null : Math.max(0, now - counts.oldestLeaseAt),
    failedRate: finished === 0 ? 0 : deliveries.failed / finished,
    agents,
  }
}

/** One conversation as a store groups it (times in ms since epoch). */
export interface ConversationRecord {
  conversationId: string
  /** The subject of its first message. */
  subject: string
  messageCount: number
  firstAt: number
  lastAt: number
  /** Distinct senders and addressees (`to_agent`) of its messages. */
  senders: readonly string[]
  receivers: readonly string[]
}

/** The public summary of a conversation: participants are senders and addressees, sorted, once each. */
export function conversationSummaryFromRecord(record: ConversationRecord): ConversationSummary {
  return {
    conversationId: record.conversationId,
    subject: record.subject,
    participants: [...new Set([...record.senders, ...record.receivers])].sort(),
    messageCount: record.messageCount,
    firstActivity: new Date(record.firstAt).toISOString(),
    lastActivity: new Date(record.lastAt).toISOString(),
  }
}
