import { type A2AStore, cleanupA2ATasks } from '@agent-comm/a2a'
import type { CleanupReport, Clock } from '@agent-comm/protocol'
import type { Spool } from '@agent-comm/spool'

/** What a retention run removed: the spool's report, and the finished A2A tasks when it has the store. */
export type RetentionReport = CleanupReport & { a2aTasks?: number; a2aCallerMessages?: number }

/** How often a relay removes what it no longer needs: hourly, the first time a minute after it starts. */
export const RETENTION_INTERVAL_MS = 3_600_000
const FIRST_RUN_MS = 60_000

/** What {@link startRetention} needs. */
export interface RetentionOptions {
  spool: Pick<Spool, 'cleanup'>
  /** Messages every recipient acked, and messages that expired (dead letters among them), this long ago go. */
  retentionMs: number
  logger: { info(fields: object, message: string): void; warn(fields: object, message: string): void }
  /** Between runs (an hour). */
  intervalMs?: number
  /** Before the first run (a minute: a relay restarted more often than hourly still cleans up). */
  firstRunMs?: number
  /**
   * The A2A endpoint's store: each run also removes the finished tasks whose last change is older than the
   * retention and than the 24 h in which a caller's retry still finds its task (`cleanupA2ATasks`), with
   * `clock`'s time.
   */
  a2a?: { store: Pick<A2AStore, 'removeFinishedTasks'>; clock: Clock }
}

/** A running retention: `run` cleans up now; `stop` ends the timer and waits for a run in progress. */
export interface Retention {
  run(): Promise<RetentionReport | undefined>
  stop(): Promise<void>
}

/**
 * The relay's own maintenance, as a job queue's cleaner does it (River's, pg-boss's): without it a relay's
 * database only grows. Each run removes, in the spool's cleanup (a backlog a thousand messages a transaction), the messages every
 * recipient acked longer ago than the retention and those that expired longer ago than it — so dead
 * letters and expired messages stay to be looked at (and retried) for the retention too. Replicas on one
 * PostgreSQL database each run it; a second run at once finds nothing left to remove.
 */
export function startRetention(options: RetentionOptions): Retention {
  const { spool, retentionMs, logger } = options
  let running: Promise<RetentionReport | undefined> | undefined
  // Stopped with the relay: no new run, and a backlog's cleanup ends between two batches.
  const stopping = new AbortController()
  const stopped = () => stopping.signal.aborted
  const removeTasks = async (report: CleanupReport): Promise<RetentionReport> => {
    if (options.a2a === undefined || stopped()) return report
    const { store, clock } = options.a2a
    // A backlog a batch a transaction, as the messages (cleanupA2ATasks batches them).
    const removed = await cleanupA2ATasks(store, { olderThanMs: retentionMs, clock, stopped })
    return { ...report, a2aTasks: removed.tasks, a2aCallerMessages: removed.callerMessages }
  }
  const run = (): Promise<RetentionReport | undefined> => {
    if (stopped()) return Promise.resolve(undefined)
    running ??= spool
      .cleanup(
        { ackedOlderThanMs: retentionMs, expiredOlderThanMs: retentionMs },
        { signal: stopping.signal },
      )
      .then(removeTasks)
      .then(
        (report) => {
          if (report.expiredMessages + report.ackedMessages + (report.a2aTasks ?? 0) > 0) {
            logger.info({ ...report, retentionMs }, 'retention: old messages removed')
          }
          return report
        },
        (error: unknown) => {
          // The next run tries again; the relay serves on meanwhile.
          logger.warn({ err: error }, 'retention: cleanup failed, next run in an hour')
          return undefined
        },
      )
      .finally(() => {
        running = undefined
      })
    return running
  }
  let timer = setTimeout(function tick() {
    void run()
    timer = setTimeout(tick, options.intervalMs ?? RETENTION_INTERVAL_MS)
    timer.unref()
  }, options.firstRunMs ?? FIRST_RUN_MS)
  timer.unref()
  return {
    run,
    async stop() {
      stopping.abort()
      clearTimeout(timer)
      await running
    },
  }
}
