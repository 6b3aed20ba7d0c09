import type { Clock } from '@agent-comm/protocol'
import { DEFAULT_IDEMPOTENCY_WINDOW_MS } from '@agent-comm/spool'
import type { A2AStore, RemovedTasks } from './store.js'

/** What {@link cleanupA2ATasks} is told: the spool cleanup's retention, and whether to only count. */
export interface A2ACleanupOptions {
  /** Finished tasks whose last change is older than this are removed (the spool's `ackedOlderThanMs`). */
  olderThanMs: number
  /**
   * How long after a caller sent a message a retry of it must still find its task, in ms (the spool's
   * idempotency window, 24 h): a finished task is kept at least that long after its last change, whatever
   * `olderThanMs` says.
   */
  idempotencyWindowMs?: number
  dryRun?: boolean
  /** At most this many tasks, the oldest first (all when undefined): a backlog in short transactions. */
  limit?: number
  clock: Clock
}

/**
 * Removes the finished tasks (completed, failed, canceled, rejected) of the A2A endpoint whose last
 * change is older than both `olderThanMs` and the idempotency window, with the messages their callers
 * sent and everything else kept for them; open tasks are never removed.
 *
 * The rule that keeps retries safe: every message of a task was sent at or before the task's last change,
 * so a task kept for the idempotency window after that change still answers a retry of any of its
 * messages sent within the window. A retry after its task was removed is a new message (a new task).
 */
export async function cleanupA2ATasks(
  store: Pick<A2AStore, 'removeFinishedTasks'>,
  options: A2ACleanupOptions,
): Promise<RemovedTasks> {
  const window = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS
  const cutoff = options.clock.now() - Math.max(options.olderThanMs, window)
  return await store.removeFinishedTasks({
    cutoff,
    dryRun: options.dryRun ?? false,
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  })
}
