// Batched throughput against pg-boss: `pnpm bench` in packages/postgres (needs a PostgreSQL server:
// AGENT_COMM_BENCH_PG_URL, default the local one). Send 1,000 messages per call, then claim 100 and ack
// those 100 until the queue is empty; messages/s for the send phase, the drain phase and end to end.
// Each contender has a database of its own on the same server; rounds are interleaved; medians.
//
// The hook for the real store: `--ours ./path/to/ours.mjs`, a module whose default export is
// `async (url) => BatchedQueue` (see below), or import `runBatched` and call it with `{ ours }`.
// `--quick` for a smoke run.
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { PgBoss } from 'pg-boss'
import {
  ACK_MANY,
  body,
  CLAIM,
  fmt,
  median,
  now,
  printTable,
  SCHEMA,
  SEND_MANY,
  scratchDatabase,
} from './scratch.mjs'

/**
 * What a contender implements. `sendBatch(n)` enqueues n messages for one recipient in one call;
 * `claim(limit)` leases up to `limit` and returns handles; `ack(handles)` acknowledges them in one call.
 * @typedef {{ name: string, sendBatch(n: number): Promise<void>, claim(limit: number): Promise<unknown[]>,
 *   ack(handles: unknown[]): Promise<void>, close(): Promise<void> }} BatchedQueue
 */

/** The spool's statements as raw SQL on node-postgres (one pooled connection, named statements). */
export async function rawSql(url) {
  const client = new pg.Client({
    connectionString: url,
    types: { getTypeParser: (oid, f) => (oid === 20 ? Number : pg.types.getTypeParser(oid, f)) },
  })
  await client.connect()
  await client.query(SCHEMA)
  let n = 0
  return {
    name: 'raw SQL (the spool statements)',
    async sendBatch(count) {
      const at = Date.now()
      const ids = Array.from({ length: count }, () => `m_${n++}`)
      const bodies = ids.map((id) => `${body} (${id})`)
      await client.query({
        name: 'send',
        text: SEND_MANY,
        values: [ids, bodies, 'batch', at, at + 86_400_000],
      })
    },
    async claim(limit) {
      const at = Date.now()
      const { rows } = await client.query({
        name: 'claim',
        text: CLAIM,
        values: ['batch', at, 'r', at + 60_000, limit],
      })
      return rows
    },
    async ack(handles) {
      const { rowCount } = await client.query({
        name: 'ack',
        text: ACK_MANY,
        values: [handles.map((h) => h.id), handles.map((h) => h.receipt), Date.now()],
      })
      if (rowCount !== handles.length) throw new Error(`acked ${rowCount} of ${handles.length}`)
    },
    close: () => client.end(),
  }
}

/** pg-boss: `insert` 1,000 jobs, `fetch({ batchSize })`, `complete(ids)`; its maintenance and cron off. */
export async function pgBoss(url) {
  const boss = new PgBoss({ connectionString: url, max: 2, schedule: false, supervise: false })
  boss.on('error', (error) => console.error('pg-boss:', error.message))
  await boss.start()
  await boss.createQueue('batch')
  let n = 0
  return {
    name: 'pg-boss',
    async sendBatch(count) {
      await boss.insert(
        'batch',
        Array.from({ length: count }, () => {
          const id = `m_${n++}`
          return { data: { subject: 'Task', body: `${body} (${id})`, fromAgent: 'architect' } }
        }),
      )
    },
    claim: (limit) => boss.fetch('batch', { batchSize: limit }),
    async ack(jobs) {
      await boss.complete(
        'batch',
        jobs.map((j) => j.id),
      )
    },
    close: () => boss.stop({ graceful: false, wait: true }),
  }
}

/** The name of the store's contender in store.bench.mjs (another name is printed as it is). */
const OURS_NAME = 'PostgresSpoolStore via Spool'

/** One round: `total` messages sent 1,000 per call, then drained 100 per claim and ack. */
async function round(q, total) {
  const t0 = now()
  for (let sent = 0; sent < total; sent += 1000) await q.sendBatch(Math.min(1000, total - sent))
  const t1 = now()
  let drained = 0
  for (;;) {
    const handles = await q.claim(100)
    if (handles.length === 0) break
    await q.ack(handles)
    drained += handles.length
  }
  const t2 = now()
  if (drained !== total) throw new Error(`${q.name}: drained ${drained} of ${total}`)
  return {
    send: total / ((t1 - t0) / 1000),
    drain: total / ((t2 - t1) / 1000),
    all: total / ((t2 - t0) / 1000),
  }
}

/**
 * Runs the batched comparison and prints it; returns summary rows for `ours`. `ours`, when given, is
 * one factory or a list of them (each measured beside the others, e.g. the store with another option);
 * `async (url) => BatchedQueue` for the real PostgreSQL store, measured beside raw SQL and pg-boss in a
 * database of its own. `asyncCommit` sets synchronous_commit off in every contender's database alike.
 *
 * `maintenance` stands in for autovacuum, which a server may have off (this project's CI server does):
 * before each timed round, the contender about to run gets `VACUUM (ANALYZE)` of its database
 * (`'vacuum'`, the default), `ANALYZE` only (`'analyze'`) or nothing (`'none'`, what this benchmark did
 * before 2026-11-30), outside the timing and alike for every contender. Without it no table ever has
 * statistics, so each connection's prepared statements keep the generic plan they got when the warm-up
 * had filled their tables with 1,000 rows, whatever the tables hold later (see the README's Benchmark).
 */
export async function runBatched({ ours, quick = false, asyncCommit = false, maintenance = 'vacuum' } = {}) {
  const rounds = quick ? 3 : 7
  const total = quick ? 2_000 : 10_000
  const factories = [rawSql, pgBoss, ...(ours === undefined ? [] : [ours].flat())]
  const opened = []
  try {
    for (const [i, factory] of factories.entries()) {
      const db = await scratchDatabase(`batched_${i}`, { asyncCommit })
      opened.push({ db, q: await factory(db.url), results: [] })
      if (!['vacuum', 'analyze', 'none'].includes(maintenance))
        throw new Error(`maintenance: ${maintenance}?`)
    }
    for (const o of opened) await round(o.q, 1_000) // warm-up
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < opened.length; k++) {
        const o = opened[(r + k) % opened.length]
        await o.db.maintain(maintenance)
        o.results.push(await round(o.q, total))
      }
    }
    const m = (o, key) => median(o.results.map((x) => x[key]))
    const base = opened[1] // pg-boss
    console.log(
      `\nbatched: send 1,000 per call, claim 100, ack 100; ${fmt(total)} messages × ${rounds} interleaved rounds (medians, msgs/s)${asyncCommit ? '; synchronous_commit off for every contender' : ''}; before each round ${maintenance === 'none' ? 'no VACUUM or ANALYZE' : maintenance === 'analyze' ? 'ANALYZE' : 'VACUUM (ANALYZE)'} of the contender's database\n`,
    )
    printTable(
      ['contender', 'send', 'claim+ack', 'end to end', '× pg-boss'],
      opened.map((o) => [
        o.q.name,
        fmt(m(o, 'send')),
        fmt(m(o, 'drain')),
        fmt(m(o, 'all')),
        fmt(m(o, 'all') / m(base, 'all'), 2),
      ]),
    )
    for (const o of opened.slice(2)) {
      const ratio = m(o, 'all') / m(base, 'all')
      console.log(
        `\n=> ${o.q.name} / pg-boss, end to end: ${fmt(ratio, 2)}× (send ${fmt(m(o, 'send') / m(base, 'send'), 2)}×, claim+ack ${fmt(m(o, 'drain') / m(base, 'drain'), 2)}×; raw SQL ${fmt(m(opened[0], 'all') / m(base, 'all'), 2)}×) ${o.q.name === OURS_NAME ? ` — target ≥ 2×: ${ratio >= 2 ? 'met' : 'not met'}` : ' (not the headline)'}${asyncCommit ? ' (synchronous_commit off, not the headline)' : ''}`,
      )
      // Every round's ratio (rounds are interleaved, so round r of each contender ran close in time).
      console.log(`   per round: ${o.results.map((x, r) => fmt(x.all / base.results[r].all, 2)).join(', ')}`)
    }
    // Every contender's claim+ack by round: a rate that falls round after round is work that grows with the
    // tables (a plan that scans them, dead entries walked), which the medians alone would hide.
    for (const o of opened) {
      console.log(`   claim+ack by round, ${o.q.name}: ${o.results.map((x) => fmt(x.drain)).join(', ')}`)
    }
    return opened
      .slice(2)
      .map((o) => [
        `batched msgs/s, ${o.q.name === OURS_NAME ? 'ours' : o.q.name} / pg-boss${asyncCommit ? ' (synchronous_commit off, all sides)' : ''}`,
        `${fmt(m(o, 'all'))} vs ${fmt(m(base, 'all'))} /s (raw SQL ${fmt(m(opened[0], 'all'))})`,
        fmt(m(o, 'all') / m(base, 'all'), 2),
        o.q.name === OURS_NAME ? '≥ 2.00' : '',
      ])
  } finally {
    for (const o of opened) {
      await o.q.close()
      // Rows its tables gave to sequential scans over the whole run (statistics are flushed as the
      // connections close): work that grows with the tables, e.g. a prepared statement's plan made when they
      // were small and never made again without ANALYZE.
      const scanned = await o.db.seqRowsRead().catch(() => undefined)
      if (scanned !== undefined)
        console.log(`   rows read by sequential scans, whole run, ${o.q.name}: ${fmt(scanned)}`)
      await o.db.drop()
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--ours')
  const ours = at === -1 ? undefined : (await import(pathToFileURL(process.argv[at + 1] ?? '').href)).default
  const maintenance = process.argv.find((a) => a.startsWith('--maintenance='))?.slice(14)
  await runBatched({ ours, quick: process.argv.includes('--quick'), ...(maintenance ? { maintenance } : {}) })
}
