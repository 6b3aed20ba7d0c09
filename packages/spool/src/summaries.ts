import type { DeliveryStatus } from '@agent-comm/protocol'
import { DELIVERY_STATUSES } from '@agent-comm/protocol'
import type { ConversationSummary, SpoolStats } from './types.js'

/** The counts a store reads for {@link statsFromCounts}; every time in ms since epoch. */
export interface StatsCounts {
  /** Deliveries by status, a live one (queued or leased) past its TTL counted as `expired`. */
  byStatus: readonly { status: DeliveryStatus; count: number }[]
  /** Oldest `created_at` of a queued, due, unexpired delivery, or null. */
  oldestQueuedAt: number | null
  /** Oldest `updated_at` of a leased, unexpired delivery, or null. */
  oldestLeaseAt: number | null
  /** Messages stored. */
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

/** One conversation as a store's grouping query returns it: senders and addressees as JSON arrays (text). */
export type ConversationRow = Omit<ConversationRecord, 'senders' | 'receivers'> & {
  senders: string
  receivers: string
}

/** The public summary of a {@link ConversationRow}. */
export function conversationSummaryFromRow(row: ConversationRow): ConversationSummary {
  return conversationSummaryFromRecord({
    ...row,
    senders: JSON.parse(row.senders) as string[],
    receivers: JSON.parse(row.receivers) as string[],
  })
}
