import type { AgentStatus } from '@agent-comm/protocol'

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
 * the profiles it returns. The thresholds are bound as `@activeSince` and `@offlineBefore`.
 */
export function statusCondition(status: AgentStatus): string {
  switch (status) {
    case 'active':
      return '(agents.offline_at IS NULL AND agents.last_seen > @activeSince)'
    case 'inactive':
      return '(agents.offline_at IS NULL AND agents.last_seen <= @activeSince AND agents.last_seen > @offlineBefore)'
    case 'offline':
      return '(agents.offline_at IS NOT NULL OR agents.last_seen <= @offlineBefore)'
  }
}
