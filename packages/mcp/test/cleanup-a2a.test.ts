import { join } from 'node:path'
import { SqliteA2AStore } from '@agent-comm/a2a'
import { Spool } from '@agent-comm/spool'
import { insertAgedTasks, keptTasks } from '@agent-comm/test-support/a2a-tasks'
import { describe, expect, it } from 'vitest'
import { openRuntime } from '../src/runtime.js'
import { connect, ok, onCleanup, tempDir } from './helpers.js'

const HOUR = 3_600_000

/**
 * A relay's tasks in `dbPath`, aged by their times (cleanup runs on the real clock): finished ten days
 * ago, finished two hours ago (within the 24 h in which a retry finds its task), and open ten days old.
 */
async function relayTasks(dbPath: string): Promise<void> {
  const spool = await Spool.open({ path: dbPath })
  await insertAgedTasks(spool.openShared(SqliteA2AStore.shared()), [
    { id: 'old-done', state: 'completed', ageMs: 240 * HOUR },
    { id: 'recent-done', state: 'completed', ageMs: 2 * HOUR },
    { id: 'old-open', state: 'submitted', ageMs: 240 * HOUR },
  ])
  await spool.close()
}

async function remaining(dbPath: string): Promise<string[]> {
  const spool = await Spool.open({ path: dbPath })
  onCleanup(() => spool.close())
  return keptTasks(spool.openShared(SqliteA2AStore.shared()), ['old-done', 'recent-done', 'old-open'])
}

/** An MCP session on `dbPath`, opened as the bins open it. */
async function serve(dbPath: string) {
  const runtime = await openRuntime({ dbPath, env: {} })
  onCleanup(() => runtime.close())
  return connect(runtime.coordinator, runtime.session)
}

describe("comm_cleanup on a relay's database", () => {
  it('removes finished A2A tasks past acked_older_than_hours and the 24 h retry window, as agent-comm cleanup does', async () => {
    const dbPath = join(tempDir(), 'relay.db')
    await relayTasks(dbPath)
    const client = await serve(dbPath)
    // Without an age nothing is old enough: counted as 0, never removed.
    expect(await ok(client, 'comm_cleanup', {})).toMatchObject({ a2aTasks: 0, a2aCallerMessages: 0 })
    const dry = await ok(client, 'comm_cleanup', { dry_run: true, acked_older_than_hours: 1 })
    expect(dry).toMatchObject({ dryRun: true, a2aTasks: 1, a2aCallerMessages: 1 })
    expect(await remaining(dbPath)).toEqual(['old-done', 'recent-done', 'old-open'])
    const done = await ok(client, 'comm_cleanup', { acked_older_than_hours: 1 })
    expect(done).toMatchObject({ dryRun: false, a2aTasks: 1, a2aCallerMessages: 1 })
    expect(await remaining(dbPath)).toEqual(['recent-done', 'old-open'])
  })

  it('leaves a database without A2A tables as it is, and says nothing of A2A', async () => {
    const dbPath = join(tempDir(), 'agents.db')
    const client = await serve(dbPath)
    const done = await ok(client, 'comm_cleanup', { acked_older_than_hours: 1 })
    expect(done).toEqual({ dryRun: false, expiredMessages: 0, ackedMessages: 0, deliveries: 0 })
  })
})
