import { A2ASigningKeys } from '@agent-comm/a2a'
import { a2aStoreChecks, LIST_TASKS_PLAN_PAGES } from '@agent-comm/a2a/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PostgresA2AStore } from '../src/a2a.js'
import type { SqlClient } from '../src/client.js'
import { openPostgresRelayStores, RelaySecretsKey } from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing.js'

let db: TestDatabase | undefined
let schemas = 0
beforeAll(async () => {
  db = await createTestDatabase({ name: 'a2a_store' })
})
afterAll(async () => {
  await db?.drop()
})

describe('the PostgreSQL A2A store', () => {
  // A schema of its own per check, in the file's database.
  const open = () => PostgresA2AStore.open({ client: db!.client(), schema: `a2a_${++schemas}` })
  for (const check of a2aStoreChecks(open)) it(check.name, check.run)

  it('reads a ListTasks page from the index a2a_tasks_list, from the cursor on, with every filter', async () => {
    const schema = `a2a_${++schemas}`
    const client = db!.client()
    const queries: { text: string; params: readonly unknown[] }[] = []
    const recording: SqlClient = {
      query: (text, params) => {
        queries.push({ text, params: params ?? [] })
        return client.query(text, params)
      },
      transaction: (fn) => client.transaction(fn),
      listen: (...args) => client.listen(...args),
      end: () => client.end(),
    }
    const store = await PostgresA2AStore.open({ client: recording, schema })
    // A caller with many tasks, with several agents, among other callers' tasks.
    await client.query(
      `INSERT INTO "${schema}".a2a_tasks (id, caller, agent, context_id, message_id, state, task, created_at, updated_at)
       SELECT 't' || n, 'c' || (n % 4), 'a' || (n % 3), 'ctx' || (n % 10), 'm' || n,
         CASE WHEN n % 2 = 0 THEN 'completed' ELSE 'submitted' END, '{}', n, n
       FROM generate_series(1, 20000) n`,
    )
    await client.query(`ANALYZE "${schema}".a2a_tasks`)
    const plan = async (params: Parameters<typeof store.listTasks>[1]): Promise<string> => {
      queries.length = 0
      await store.listTasks('c1', params)
      const [page] = queries
      const rows = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${page!.text}`, page!.params)
      return rows.map((row) => row['QUERY PLAN']).join('\n')
    }
    for (const params of LIST_TASKS_PLAN_PAGES) {
      const explained = await plan(params)
      expect(explained, JSON.stringify(params)).toMatch(/Index Scan Backward using a2a_tasks_list/)
      // The cursor is a range of the index scan, not a filter over the caller's every task.
      if (params.before !== undefined)
        expect(explained).toMatch(/Index Cond: .*updated_at, \(id\)::text\) < {1,2}ROW/)
      expect(explained).not.toMatch(/Sort/)
    }
  })

  it('creates its tables once when two openers race', async () => {
    const schema = `a2a_${++schemas}`
    await Promise.all([
      PostgresA2AStore.open({ client: db!.client(), schema }),
      PostgresA2AStore.open({ client: db!.client(), schema }),
    ])
  })
  it('seals the push-signing key under the relay secrets key, re-sealed when that key is rotated', async () => {
    const schema = `a2a_${++schemas}`
    const key = RelaySecretsKey.generate()
    const clock = { now: () => 1_000_000 }
    const store = await PostgresA2AStore.open({ client: db!.client(), schema })
    const running = await A2ASigningKeys.open({ store, sealer: key, clock })
    const kid = await running.currentKid()
    const stores = await openPostgresRelayStores({ url: db!.url, schema, key })
    const next = RelaySecretsKey.generate()
    try {
      await stores.secrets.rotateKey(next)
    } finally {
      await stores.close()
    }
    expect(await (await A2ASigningKeys.open({ store, sealer: next, clock })).currentKid()).toBe(kid)
    // A replica still running with the old key goes on signing with the key it holds.
    clock.now = () => 2_000_000
    await expect(running.sign({ body: '{}', taskId: 't', audience: 'https://hook.test/' })).resolves.toMatch(
      /\./,
    )
    await expect(A2ASigningKeys.open({ store, sealer: key, clock })).rejects.toMatchObject({ code: 'CONFIG' })
  })
})
