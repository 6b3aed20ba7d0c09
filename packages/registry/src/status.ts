import type { AgentStatus } from '@agent-comm/protocol'
import { type SQL, sql } from 'drizzle-orm'
import { agents } from './schema.js'

/** The two thresholds that turn "last seen" into a status. */
export interface PresenceWindows {
  activeWindowMs: number
  offlineAfterMs: number
}

/**
 * The status of an agent last seen at `lastSeen`: `active` for `activeWindowMs` after that, then
 * `inactive`, and `offline` from `offlineAfterMs` on — or as soon as it was explicitly marked offline.
 * A `lastSeen` ahead of `now` (another process's clock runs fast) reads as active.
 */
export function deriveStatus(
  row: { lastSeen: number; offlineAt: number | null },
  now: number,
  windows: PresenceWindows,
): AgentStatus {
  const age = now - row.lastSeen
  if (row.offlineAt !== null || age >= windows.offlineAfterMs) return 'offline'
  return age >= windows.activeWindowMs ? 'inactive' : 'active'
}

/** The thresholds of a status filter at `now` (see `ListAgentsParams.status`). */
export function statusThresholds(status: AgentStatus, now: number, windows: PresenceWindows) {
  return { status, activeSince: now - windows.activeWindowMs, offlineBefore: now - windows.offlineAfterMs }
}

/**
 * The SQL twin of {@link deriveStatus} (SQLite): a condition true exactly for the agents whose derived
 * status is `status` at the thresholds given, so `list({ status })` filters in the database and agrees with
 * the profiles it returns.
 */
export function statusCondition(filter: {
  status: AgentStatus
  activeSince: number
  offlineBefore: number
}): SQL {
  const { activeSince, offlineBefore } = filter
  switch (filter.status) {
    case 'active':
      return sql`(${agents.offlineAt} IS NULL AND ${agents.lastSeen} > ${activeSince})`
    case 'inactive':
      return sql`(${agents.offlineAt} IS NULL AND ${agents.lastSeen} <= ${activeSince} AND ${agents.lastSeen} > ${offlineBefore})`
    case 'offline':
      return sql`(${agents.offlineAt} IS NOT NULL OR ${agents.lastSeen} <= ${offlineBefore})`
  }
}
