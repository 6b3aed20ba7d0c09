import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { testCleanups } from '@agent-comm/test-support'
import { describe, expect, it } from 'vitest'
import { SqliteA2AStore } from '../src/index.js'
import type { ListTasksParams } from '../src/store.js'
import { LIST_TASKS_PLAN_PAGES } from '../src/testing.js'

const { onCleanup, tempDir } = testCleanups('agent-comm-a2a-test-')

describe('ListTasks on SQLite', () => {
  it('reads a page from the index a2a_tasks_list, from the cursor on, with every filter', async () => {
    const spool = await Spool.open({ path: join(tempDir('agent-comm-a2a-index-'), 'relay.db') })
    onCleanup(() => spool.close())
    const db = sqliteConnectionOf(spool)
    const store = SqliteA2AStore.open(db)
    // A caller with many tasks, with several agents, among other callers' tasks.
    db.exec(`WITH RECURSIVE n(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM n WHERE n < 20000)
      INSERT INTO a2a_tasks (id, caller, agent, context_id, message_id, state, task, created_at, updated_at)
      SELECT 't' || n, 'c' || (n % 4), 'a' || (n % 3), 'ctx' || (n % 10), 'm' || n,
        CASE WHEN n % 2 = 0 THEN 'completed' ELSE 'submitted' END, '{}', n, n FROM n`)
    db.exec('ANALYZE')
    // The statement the store prepares for the page, explained with the values it ran with.
    const prepare = db.prepare.bind(db)
    let last = ''
    db.prepare = ((sql: string) => {
      last = sql
      return prepare(sql)
    }) as typeof db.prepare
    onCleanup(() => {
      db.prepare = prepare
    })
    const plan = (params: ListTasksParams): string => {
      store.listTasks('c1', params)
      const sql = last
      const values = {
        caller: 'c1',
        agent: params.agent,
        limit: params.limit,
        ...(params.state === undefined ? {} : { state: params.state }),
        ...(params.updatedFrom === undefined ? {} : { updatedFrom: params.updatedFrom }),
        ...(params.before === undefined ? {} : { at: params.before.updatedAt, id: params.before.id }),
      }
      const rows = prepare(`EXPLAIN QUERY PLAN ${sql}`).all(values) as { detail: string }[]
      return rows.map((row) => row.detail).join('\n')
    }
    for (const params of LIST_TASKS_PLAN_PAGES) {
      const explained = plan(params)
      // The cursor and the time are ranges of the index search; the order is the index's (no sort).
      expect(explained, JSON.stringify(params)).toMatch(
        /SEARCH a2a_tasks USING INDEX a2a_tasks_list \(caller=\? AND agent=\?/,
      )
      if (params.updatedFrom !== undefined) expect(explained).toMatch(/ AND updated_at>\? /)
      if (params.before !== undefined) expect(explained).toMatch(/ AND \(updated_at,id\)<\(\?,\?\)\)/)
      expect(explained).not.toMatch(/TEMP B-TREE/)
    }
  })
})
