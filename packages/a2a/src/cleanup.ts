import { type Clock, ValidationError } from '@agent-comm/protocol'
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
  /**
   * Tasks removed per transaction, the oldest first ({@link A2A_CLEANUP_BATCH}): a backlog goes batch after
   * batch, each its own short transaction, so other writers are served in between.
   */
  batchSize?: number
  /** Asked between batches: true stops after the current one (a relay shutting down). */
  stopped?: () => boolean
  clock: Clock
}

/** Finished tasks removed per transaction by default (a thousand, as the relay's messages). */
export const A2A_CLEANUP_BATCH = 1000

/**
 * Removes the finished tasks (completed, failed, canceled, rejected) of the A2A endpoint whose last
 * change is older than both `olderThanMs` and the idempotency window, with the messages their callers
 * sent and everything else kept for them; open tasks are never removed. A backlog goes in batches of
 * `batchSize`, each its own transaction; `dryRun` only counts, in one read.
 *
 * The rule that keeps retries safe: every message of a task was sent at or before the task's last change,
 * so a task kept for the idempotency window after that change still answers a retry of any of its
 * messages sent within the window. A retry after its task was removed is a new message (a new task).
 */
export async function cleanupA2ATasks(
  store: Pick<A2AStore, 'removeFinishedTasks'>,
  options: A2ACleanupOptions,
): Promise<RemovedTasks> {
  const batch = options.batchSize ?? A2A_CLEANUP_BATCH
  if (!Number.isInteger(batch) || batch < 1) {
    throw new ValidationError(
      `Invalid A2A cleanup batchSize: must be a whole number of at least 1 (got ${String(batch)})`,
      [{ path: 'batchSize', message: 'must be a whole number of at least 1' }],
      { hint: `Leave it out for ${A2A_CLEANUP_BATCH}.` },
    )
  }
  const window = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS
  // One cutoff for every batch: a long run does not chase the tasks that finish while it runs.
  const cutoff = options.clock.now() - Math.max(options.olderThanMs, window)
  // Counting removes nothing, so it is one read: batches would count the same tasks again and again.
  if (options.dryRun === true) return await store.removeFinishedTasks({ cutoff, dryRun: true })
  const total: RemovedTasks = { tasks: 0, callerMessages: 0 }
  for (;;) {
    const removed = await store.removeFinishedTasks({ cutoff, dryRun: false, limit: batch })
    total.tasks += removed.tasks
    total.callerMessages += removed.callerMessages
    if (removed.tasks < batch || options.stopped?.() === true) return total
    await new Promise((resolve) => setImmediate(resolve))
  }
}
