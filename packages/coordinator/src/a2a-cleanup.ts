// The A2A part of a cleanup, for every surface that cleans a database (`agent-comm cleanup`, the MCP
// server's comm_cleanup): one rule of what goes, `cleanupA2ATasks` of `@agent-comm/a2a`, and one way to
// reach the tasks of a relay's database. The subpath `@agent-comm/coordinator/a2a-cleanup`; the A2A
// package (an optional peer) and the stores are loaded only when it runs. On SQLite the A2A store opens on
// the spool's connection through `spool.openShared`, and looks for its own tables there first.
import type { A2AStore, RemovedTasks } from '@agent-comm/a2a'
import type { Clock } from '@agent-comm/protocol'
import { isPostgresUrl } from './database-url.js'

/** Where the tasks are: a coordinator's database setting (`CoordinatorConfig`'s `dbPath` and schema). */
export interface A2ACleanupTarget {
  /** A SQLite file (a relay's `relay.db`) or a `postgres://` URL. */
  dbPath: string
  /** The PostgreSQL schema (`agent_comm`). */
  postgresSchema?: string | undefined
}

/**
 * Removes the finished A2A tasks in the database of `target` when it is a relay's (the A2A endpoint made
 * its tables there: a relay's `relay.db`, or a PostgreSQL schema, which always has them) — those past
 * `olderThanMs` and the idempotency window (`cleanupA2ATasks`), or only counted with `dryRun`; none when
 * `olderThanMs` is undefined (nothing is that old). Undefined for a SQLite file without them: it is not
 * touched, and no A2A table is made in it; undefined too where `@agent-comm/a2a` is not installed (an MCP
 * server installed without the relay: the relay's own hourly retention cleans its tasks).
 */
export async function cleanupA2ATasksIn(
  target: A2ACleanupTarget,
  options: { olderThanMs: number | undefined; dryRun: boolean; clock?: Clock | undefined },
): Promise<RemovedTasks | undefined> {
  const run = async (open: (a2a: typeof import('@agent-comm/a2a')) => Promise<A2AStore> | A2AStore) => {
    const a2a = await loadA2A()
    if (a2a === undefined) return undefined
    if (options.olderThanMs === undefined) return { tasks: 0, callerMessages: 0 }
    const clock = options.clock ?? (await import('@agent-comm/protocol')).systemClock
    const store = await open(a2a)
    return a2a.cleanupA2ATasks(store, { olderThanMs: options.olderThanMs, dryRun: options.dryRun, clock })
  }
  if (isPostgresUrl(target.dbPath)) {
    let store: { close(): Promise<void> } | undefined
    try {
      return await run(async () => {
        const { PostgresA2AStore } = await import('@agent-comm/postgres/a2a')
        const opened = await PostgresA2AStore.connect({
          url: target.dbPath,
          poolSize: 1,
          schema: target.postgresSchema,
        })
        store = opened
        return opened
      })
    } finally {
      await store?.close()
    }
  }
  const { Spool } = await import('@agent-comm/spool')
  const spool = await Spool.open({ path: target.dbPath })
  try {
    // A file without the A2A tables is not a relay's: nothing to clean, and none are made in it.
    const a2a = await loadA2A()
    const store = a2a === undefined ? undefined : spool.openShared(a2a.SqliteA2AStore.sharedIfPresent())
    if (store === undefined) return undefined
    return await run(() => store)
  } finally {
    await spool.close()
  }
}

/** The A2A package, or undefined where it is not installed (it is an optional peer of this one). */
async function loadA2A(): Promise<typeof import('@agent-comm/a2a') | undefined> {
  try {
    return await import('@agent-comm/a2a')
  } catch (error) {
    const missing =
      (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes("'@agent-comm/a2a'")
    if (missing) return undefined
    throw error
  }
}
