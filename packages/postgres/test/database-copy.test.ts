import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registryCopySection } from '@agent-comm/registry'
import { type SpoolStore, SqliteSpoolStore } from '@agent-comm/spool'
import { type DatabaseRows, RowCollector, RowCounter, rowsSource } from '@agent-comm/spool/copy'
import { afterAll, describe, expect, it } from 'vitest'
import { openPostgres, openPostgresSpoolStore } from '../src/index.js'
import { createTestDatabase, reportSkipped } from '../src/testing.js'

// The PostgreSQL store's side of `agent-comm db copy` (`exportRows` / `importRows`); the CLI's test copies
// a database of every kind of row to PostgreSQL and back.
const db = await createTestDatabase({ name: 'database_copy', logger: reportSkipped('database-copy') })
afterAll(() => db.drop())

const sections = [registryCopySection]

/** Every row `store` exports, gathered in memory. */
async function exported(store: Pick<SpoolStore, 'exportRows'>): Promise<DatabaseRows> {
  const collector = new RowCollector()
  await store.exportRows!({ sections, sink: collector })
  return collector.rows
}

async function seeded(schema: string): Promise<void> {
  const opened = await openPostgres({ url: db.url, schema })
  try {
    await opened.registry.register({ agentId: 'architect', capabilities: ['design'] })
    await opened.spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'first' })
  } finally {
    await opened.close()
  }
}

// A second connection holding a lock needs a server (PGlite has one connection).
describe.skipIf(db.kind !== 'server')('exportRows on PostgreSQL', () => {
  it('reads one snapshot: a write committed while the export runs is not in it', async () => {
    await seeded('snapshot_src')
    const writer = db.client()
    // The writer locks the registry's table and adds an agent, so the export (which reads messages first)
    // waits on the lock half way; the writer commits while it waits.
    let commit!: () => void
    const committed = new Promise<void>((resolve) => (commit = resolve))
    const writing = writer.transaction(async (tx) => {
      await tx.query('LOCK TABLE snapshot_src.agents IN ACCESS EXCLUSIVE MODE')
      await tx.query(
        `INSERT INTO snapshot_src.agents (agent_id, device, transport, metadata, registered_at, last_seen)
         VALUES ('late', 'x', 'sqlite', '{}', 1, 1)`,
      )
      await committed
    })
    const store = await openPostgresSpoolStore({ url: db.url, schema: 'snapshot_src', poolSize: 2 })
    const observer = db.client()
    try {
      const reading = exported(store)
      await expect
        .poll(async () => {
          const [row] = await observer.query<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND datname = current_database()
               AND query LIKE '%snapshot_src"."agents%'`,
          )
          return row?.waiting
        })
        .toBe(1)
      commit()
      await writing
      const rows = await reading
      expect(rows.messages.map((m) => m.body)).toEqual(['first'])
      expect(rows.sections.registry?.agents?.map((a) => a.agentId)).toEqual(['architect'])
    } finally {
      await store.close()
    }
  })
})

describe.skipIf(db.kind !== 'server')('whole-database reads on PostgreSQL', () => {
  it('wait as long as a lock takes: an export and a verify are not cut off by query_timeout', async () => {
    await seeded('slow_src')
    // Every other statement of this store is cut off after 200 ms.
    const store = await openPostgresSpoolStore({
      url: `${db.url}?query_timeout=200`,
      schema: 'slow_src',
      poolSize: 3,
    })
    const holder = db.client()
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let locked!: () => void
    const isLocked = new Promise<void>((resolve) => (locked = resolve))
    const holding = holder.transaction(async (tx) => {
      await tx.query('LOCK TABLE slow_src.messages IN ACCESS EXCLUSIVE MODE')
      locked()
      await released
    })
    try {
      await isLocked
      const exporting = exported(store)
      const verifying = store.verify()
      const observer = db.client()
      const waiting = async () => {
        const [row] = await observer.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        )
        return row?.waiting
      }
      await expect.poll(waiting).toBe(2)
      // Both have waited longer than the query_timeout once this resolves (a timer never fires early).
      await new Promise((resolve) => setTimeout(resolve, 400))
      release()
      await holding
      expect((await exporting).messages.map((m) => m.body)).toEqual(['first'])
      await expect(verifying).resolves.toBeDefined()
      await expect(exported(store)).resolves.toBeDefined()
    } finally {
      release()
      await store.close()
    }
  })
})

describe('importRows on PostgreSQL', () => {
  it('writes nothing when a row fails midway, and refuses a schema that holds data', async () => {
    await seeded('import_src')
    const source = await openPostgresSpoolStore({ url: db.url, schema: 'import_src', poolSize: 1 })
    const rows = await exported(source).finally(() => source.close())
    const target = await openPostgresSpoolStore({ url: db.url, schema: 'import_dst', poolSize: 1 })
    try {
      const broken = {
        ...rows,
        deliveries: [...rows.deliveries, { ...rows.deliveries[0]!, messageId: 'msg_nope' }],
      }
      await expect(target.importRows({ source: rowsSource(broken), sections })).rejects.toThrow(
        /names message 'msg_nope'/,
      )
      expect(await exported(target)).toEqual({
        messages: [],
        deliveries: [],
        idempotencyKeys: [],
        sections: { registry: { agents: [], agent_capabilities: [] } },
      })
      await target.importRows({ source: rowsSource(rows), sections })
      expect(await exported(target)).toEqual(rows)
      await expect(target.importRows({ source: rowsSource(rows), sections })).rejects.toThrow(
        /import_dst\) already holds agent-comm data \(table 'messages' has rows\)/,
      )
    } finally {
      await target.close()
    }
  })
})

describe('copying in batches between PostgreSQL and SQLite', () => {
  it('streams a database larger than a batch there and back, every row unchanged', async () => {
    const opened = await openPostgres({ url: db.url, schema: 'batches_src' })
    try {
      for (const agentId of ['architect', 'builder', 'reviewer']) {
        await opened.registry.register({ agentId, capabilities: ['design', 'code'] })
      }
      for (let i = 0; i < 5; i++) {
        await opened.spool.send(
          { fromAgent: 'architect', toAgent: 'builder', body: `message ${i}` },
          i % 2 === 0 ? { idempotencyKey: `k-${i}` } : {},
        )
      }
    } finally {
      await opened.close()
    }
    const source = await openPostgresSpoolStore({ url: db.url, schema: 'batches_src', poolSize: 1 })
    const dir = mkdtempSync(join(tmpdir(), 'agent-comm-pg-copy-'))
    const sqlite = await SqliteSpoolStore.open({ path: join(dir, 'copy.db') })
    const target = await openPostgresSpoolStore({ url: db.url, schema: 'batches_dst', poolSize: 1 })
    try {
      const rows = await exported(source)
      // A counter sees each batch on its way: two rows at most, so five messages come in three.
      const there = new RowCounter()
      const batches: number[] = []
      await sqlite.importRows({
        sections,
        source: (sink) =>
          source.exportRows({
            sections,
            batchRows: 2,
            sink: {
              ...sink,
              begin: (plan) => there.begin(plan).then(() => sink.begin(plan)),
              messages: async (batch) => {
                batches.push(batch.length)
                await there.messages(batch)
                await sink.messages(batch)
              },
            },
          }),
      })
      expect(batches).toEqual([2, 2, 1])
      expect(there.counts.messages).toBe(5)
      const inFile = new RowCounter()
      await target.importRows({
        sections,
        source: (sink) => sqlite.exportRows({ sections, batchRows: 2, sink: new RowCounter(sink) }),
      })
      await sqlite.exportRows({ sections, sink: inFile })
      expect(inFile.counts).toMatchObject({ messages: 5, deliveries: 5, idempotencyKeys: 3 })
      expect(inFile.counts.tables).toEqual({ agents: 3, agent_capabilities: 6 })
      expect(await exported(target)).toEqual(rows)
      expect((await target.verify()).ok).toBe(true)
    } finally {
      await Promise.all([source.close(), sqlite.close(), target.close()])
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
