import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { PostgresA2AStore } from '../src/a2a.js'
import { applyPostgresMigrations, POSTGRES_MIGRATIONS_FOLDER } from '../src/index.js'
import { createTestDatabase } from '../src/testing.js'

const db = await createTestDatabase({ name: 'a2a_migration' })
afterAll(() => db.drop())

/**
 * What PostgresA2AStore.open ran before the A2A tables moved into drizzle-kit migrations (version 1 of
 * its own migration table), kept here as released so the adoption is tested against the real thing.
 */
const LEGACY_A2A_DDL = (s: string) => [
  `CREATE TABLE ${s}.__agent_comm_a2a_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ${s}.a2a_tokens (name text PRIMARY KEY, token_hash text NOT NULL UNIQUE,
     agents text, created_at bigint NOT NULL, revoked_at bigint)`,
  `CREATE TABLE IF NOT EXISTS ${s}.a2a_tasks (id text PRIMARY KEY, caller text NOT NULL, agent text NOT NULL,
     context_id text NOT NULL, message_id text NOT NULL, state text NOT NULL, task text NOT NULL,
     created_at bigint NOT NULL, updated_at bigint NOT NULL, position bigserial)`,
  `CREATE INDEX IF NOT EXISTS a2a_tasks_state ON ${s}.a2a_tasks (state)`,
  `CREATE INDEX IF NOT EXISTS a2a_tasks_context ON ${s}.a2a_tasks (caller, context_id)`,
  `CREATE TABLE IF NOT EXISTS ${s}.a2a_task_messages (message_id text PRIMARY KEY, task_id text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ${s}.a2a_events (task_id text NOT NULL, seq integer NOT NULL, event text NOT NULL,
     created_at bigint NOT NULL, PRIMARY KEY (task_id, seq))`,
  `CREATE TABLE IF NOT EXISTS ${s}.a2a_push_configs (task_id text NOT NULL, id text NOT NULL, config text NOT NULL,
     created_at bigint NOT NULL, PRIMARY KEY (task_id, id))`,
  `CREATE TABLE IF NOT EXISTS ${s}.a2a_push_outbox (id bigserial PRIMARY KEY, task_id text NOT NULL,
     config_id text NOT NULL, seq integer NOT NULL, attempts integer NOT NULL DEFAULT 0, next_at bigint NOT NULL,
     last_error text, done_at bigint)`,
  `CREATE INDEX IF NOT EXISTS a2a_push_outbox_due ON ${s}.a2a_push_outbox (done_at, next_at)`,
  `INSERT INTO ${s}.__agent_comm_a2a_migrations VALUES (1, 1)`,
]

/** The migrations as released before `0006_a2a` (every one before it). */
function foldersBeforeA2A(): string {
  const folder = mkdtempSync(join(tmpdir(), 'agent-comm-pre-a2a-'))
  cpSync(POSTGRES_MIGRATIONS_FOLDER, folder, { recursive: true })
  const journalPath = join(folder, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] }
  const at = journal.entries.findIndex((e) => e.tag === '0006_a2a')
  expect(at).toBeGreaterThan(0)
  journal.entries = journal.entries.slice(0, at)
  writeFileSync(journalPath, JSON.stringify(journal))
  return folder
}

/** The constraints and indexes of the A2A tables, by table: what "the same schema" means here. */
async function shape(schema: string) {
  const client = db.client()
  const constraints = await client.query<{ t: string; c: string; def: string }>(
    `SELECT conrelid::regclass::text AS t, conname AS c, pg_get_constraintdef(oid) AS def FROM pg_constraint
     WHERE connamespace = $1::regnamespace ORDER BY 2`,
    [schema],
  )
  const columns = await client.query<{ t: string; c: string; type: string; nullable: string }>(
    `SELECT table_name AS t, column_name AS c, data_type AS type, is_nullable AS nullable
     FROM information_schema.columns WHERE table_schema = $1 AND table_name LIKE 'a2a_%' ORDER BY 1, 2`,
    [schema],
  )
  const indexes = await client.query<{ i: string }>(
    `SELECT indexname AS i FROM pg_indexes WHERE schemaname = $1 AND tablename LIKE 'a2a_%' ORDER BY 1`,
    [schema],
  )
  return {
    constraints: constraints
      .map((r) => ({ ...r, t: r.t.replace(`${schema}.`, '') }))
      .filter((r) => r.t.startsWith('a2a_')),
    columns,
    indexes,
  }
}

it('adopts the A2A tables an earlier version made by hand, keeping every row, as a fresh schema has them', async () => {
  const client = db.client()
  const before = foldersBeforeA2A()
  try {
    await applyPostgresMigrations(client, 'a2a_legacy', before)
  } finally {
    rmSync(before, { recursive: true, force: true })
  }
  for (const statement of LEGACY_A2A_DDL('"a2a_legacy"')) await client.query(statement)
  await client.query(
    `INSERT INTO a2a_legacy.a2a_tokens (name, token_hash, agents, created_at) VALUES ('acme', 'h1', '["helper"]', 10)`,
  )
  await client.query(
    `INSERT INTO a2a_legacy.a2a_tasks (id, caller, agent, context_id, message_id, state, task, created_at, updated_at)
     VALUES ('t1', 'acme', 'helper', 'c1', 'm1', 'working', '{"id":"t1"}', 20, 30)`,
  )
  await client.query(`INSERT INTO a2a_legacy.a2a_task_messages VALUES ('m1', 't1')`)
  await client.query(`INSERT INTO a2a_legacy.a2a_events VALUES ('t1', 1, '{"task":{}}', 20)`)
  await client.query(`INSERT INTO a2a_legacy.a2a_push_configs VALUES ('t1', 'p1', '{"url":"https://x"}', 20)`)
  await client.query(
    `INSERT INTO a2a_legacy.a2a_push_outbox (task_id, config_id, seq, next_at) VALUES ('t1', 'p1', 1, 20)`,
  )

  const store = await PostgresA2AStore.open({ client, schema: 'a2a_legacy' })
  expect((await store.tokenByHash('h1'))?.agents).toEqual(['helper'])
  expect(await store.getTask('t1')).toMatchObject({ state: 'working', messageId: 'm1', task: { id: 't1' } })
  expect(await store.taskIdForMessage('m1')).toBe('t1')
  expect((await store.events('t1', 0)).map((e) => e.seq)).toEqual([1])
  expect((await store.duePushes(100, 10)).map((p) => [p.id, p.seq])).toEqual([[1, 1]])
  // The store goes on writing: the next event and its push take the next numbers.
  expect(
    await store.transition({
      taskId: 't1',
      from: 'working',
      state: 'completed',
      task: { id: 't1' },
      events: [{ n: 2 }],
      at: 40,
    }),
  ).toBe(true)
  expect((await store.duePushes(100, 10)).map((p) => p.seq)).toEqual([1])
  const [legacyTable] = await client.query<{ found: boolean }>(
    `SELECT to_regclass('a2a_legacy.__agent_comm_a2a_migrations') IS NOT NULL AS found`,
  )
  expect(legacyTable?.found).toBe(false)

  await PostgresA2AStore.open({ client, schema: 'a2a_fresh' })
  expect(await shape('a2a_legacy')).toEqual(await shape('a2a_fresh'))
  // Opening again applies nothing.
  expect(await applyPostgresMigrations(client, 'a2a_legacy')).toMatchObject({ applied: 0 })
})
