import { type A2AStore, SqliteA2AStore } from '@agent-comm/a2a'
import { PostgresA2AStore } from '@agent-comm/postgres/a2a'
import { createTestDatabase, pgServerAvailable } from '@agent-comm/postgres/testing'
import { Spool } from '@agent-comm/spool'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { insertAgedTasks, keptTasks } from '@agent-comm/test-support/a2a-tasks'
import { describe, expect, it } from 'vitest'
import { cleanEnv, createDatabase, onCleanup, project, runCli, tempDir } from './helpers.js'

const HOUR = 3_600_000
// The CLI opens a PostgreSQL URL with node-postgres: a server is needed (in CI one is there).
const hasServer = process.env.CI === 'true' || (await pgServerAvailable())

/**
 * A relay's tasks, aged by their times (the CLI runs on the real clock): finished ten days ago, finished
 * two hours ago (past a retention of one hour, within the 24 h in which a retry finds its task), and open
 * ones ten days old.
 */
async function relayTasks(store: A2AStore): Promise<void> {
  await insertAgedTasks(store, [
    { id: 'old-done', state: 'completed', ageMs: 240 * HOUR },
    { id: 'old-failed', state: 'failed', ageMs: 240 * HOUR },
    { id: 'recent-done', state: 'completed', ageMs: 2 * HOUR },
    { id: 'old-open', state: 'submitted', ageMs: 240 * HOUR },
    { id: 'old-asking', state: 'input-required', ageMs: 240 * HOUR },
  ])
}

function remaining(store: A2AStore): Promise<string[]> {
  return keptTasks(store, ['old-done', 'old-failed', 'recent-done', 'old-open', 'old-asking'])
}

describe("cleanup on a relay's database", () => {
  it('removes finished A2A tasks past --acked-older-than and the 24 h retry window, never open ones', async () => {
    const p = project()
    await createDatabase(p)
    const spool = await Spool.open({ path: p.db })
    await relayTasks(spool.openShared(SqliteA2AStore.shared()))
    await spool.close()
    // Without --acked-older-than nothing is old enough: A2A tasks are counted as 0, never removed.
    expect(await p.json(['cleanup'])).toMatchObject({ a2aTasks: 0, a2aCallerMessages: 0 })
    const dry = await p.ok(['cleanup', '--acked-older-than', '1h', '--dry-run'])
    expect(dry.stdout).toBe(
      'Would remove 0 expired message(s) and 0 acked message(s) (0 deliveries), 2 finished A2A task(s) (2 caller message ids)\n',
    )
    expect(await p.json(['cleanup', '--acked-older-than', '1h'])).toMatchObject({
      a2aTasks: 2,
      a2aCallerMessages: 2,
    })
    const reopened = await Spool.open({ path: p.db })
    onCleanup(() => reopened.close())
    const store = reopened.openShared(SqliteA2AStore.shared())
    expect(await remaining(store)).toEqual(['recent-done', 'old-open', 'old-asking'])
    expect(await store.sentMessage('acme', 'm-recent-done')).toMatchObject({ taskId: 'recent-done' })
    expect(await store.sentMessage('acme', 'm-old-done')).toBeUndefined()
  })

  it('leaves a database without A2A tables as it is, and says nothing of A2A', async () => {
    const p = project()
    await createDatabase(p)
    expect(await p.json(['cleanup', '--acked-older-than', '1h'])).toEqual({
      dryRun: false,
      expiredMessages: 0,
      ackedMessages: 0,
      deliveries: 0,
    })
    const spool = await Spool.open({ path: p.db })
    onCleanup(() => spool.close())
    expect(
      sqliteConnectionOf(spool).prepare("SELECT name FROM sqlite_master WHERE name LIKE 'a2a%'").all(),
    ).toEqual([])
  })

  it.skipIf(!hasServer)('removes them on PostgreSQL too, in the schema the CLI is given', async () => {
    const db = await createTestDatabase({ name: 'cli_a2a_cleanup' })
    onCleanup(() => db.drop())
    const store = await PostgresA2AStore.connect({ url: db.url, schema: 'relay_a2a' })
    onCleanup(() => store.close())
    await relayTasks(store)
    const env = cleanEnv({ AGENT_COMM_DB_PATH: db.url, AGENT_COMM_PG_SCHEMA: 'relay_a2a' })
    const run = await runCli(['cleanup', '--acked-older-than', '1h', '--json'], { cwd: tempDir(), env })
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout)).toMatchObject({ a2aTasks: 2, a2aCallerMessages: 2 })
    expect(await remaining(store)).toEqual(['recent-done', 'old-open', 'old-asking'])
  })
})
