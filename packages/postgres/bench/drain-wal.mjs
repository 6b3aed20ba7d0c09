// The WAL a batched drain writes (claim 100, ack 100 until 10,000 sent messages are gone), per contender,
// read back with pg_waldump: records and bytes per 10,000 messages by kind (heap updates, HOT or not; row
// locks; index inserts per index; commits), for the store through the Spool, the batched benchmark's raw
// SQL and pg-boss, each in a scratch database of its own, after VACUUM (ANALYZE) as store.bench.mjs does.
// Deterministic (it counts, it does not time), so it holds on a loaded machine. Needs the server on this
// machine and read access to its pg_wal (run as root or postgres); other databases' records are left out.
//
// Also the CPU of the contender's backends during the drain (/proc), as drain.bench.mjs reads it.
//
//   node bench/drain-wal.mjs [--total=10000] [--store-only] [--fillfactor=70]
//   (AGENT_COMM_BENCH_PG_WALDUMP: the server's pg_waldump, default PostgreSQL 15's on Debian)
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { pgBoss, rawSql } from './pgboss.bench.mjs'
import { body, fmt, printTable, SERVER_URL, scratchDatabase } from './scratch.mjs'
import { openStoreSpool } from './store-spool.mjs'

const WALDUMP = process.env.AGENT_COMM_BENCH_PG_WALDUMP ?? '/usr/lib/postgresql/15/bin/pg_waldump'
// `--fillfactor=N`: the store's deliveries table with that fillfactor (an experiment; 100 is the default).
const FILLFACTOR = process.argv.find((a) => a.startsWith('--fillfactor='))?.slice(13)
const TOTAL = Number(process.argv.find((a) => a.startsWith('--total='))?.slice(8) ?? 10_000)
// `--store-only`: the store alone (an experiment on its layout, such as --fillfactor).
const STORE_ONLY = process.argv.includes('--store-only')

/** utime + stime of the database's other backends, in ms (/proc: the server runs on this machine). */
async function backendCpuMs(url) {
  const sql =
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()'
  let ms = 0
  for (const { pid } of await one(sql, url)) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ms += (Number(fields[11]) + Number(fields[12])) * 10
  }
  return ms
}

async function store(url) {
  const { spool, close } = await openStoreSpool(url, { poolSize: 1 })
  let n = 0
  return {
    name: 'PostgresSpoolStore via Spool',
    sendBatch: (count) =>
      spool.sendBatch(
        Array.from({ length: count }, () => ({
          message: { fromAgent: 'architect', toAgent: 'batch', subject: 'Task', body: `${body} (m_${n++})` },
        })),
      ),
    claim: (limit) => spool.claim('batch', { limit }),
    ack: (claimed) =>
      spool.ackBatch(
        claimed.map((c) => ({ messageId: c.message.id, agent: 'batch', receipt: c.lease.receipt })),
      ),
    close,
  }
}

async function one(sql, url = SERVER_URL) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

async function drain(q) {
  for (;;) {
    const handles = await q.claim(100)
    if (handles.length === 0) return
    await q.ack(handles)
  }
}

const dataDir = (await one('SHOW data_directory'))[0].data_directory
const rows = []
// A slot of its own keeps the server from recycling the WAL before pg_waldump reads it (a busy server's
// checkpoints otherwise remove the segments a drain wrote); dropped at the end.
const slot = `agent_comm_bench_wal_${process.pid}`
await one(`SELECT pg_create_physical_replication_slot('${slot}', true)`)
try {
  for (const [i, factory] of (STORE_ONLY ? [store] : [store, rawSql, pgBoss]).entries()) {
    const db = await scratchDatabase(`wal_${i}`)
    const q = await factory(db.url)
    if (factory === store && FILLFACTOR !== undefined)
      await one(`ALTER TABLE agent_comm.deliveries SET (fillfactor = ${Number(FILLFACTOR)})`, db.url)
    try {
      for (let s = 0; s < 1000; s += 1000) await q.sendBatch(1000)
      await drain(q)
      for (let s = 0; s < TOTAL; s += 1000) await q.sendBatch(1000)
      await db.maintain('vacuum')
      const [{ oid }] = await one(`SELECT oid FROM pg_database WHERE datname = current_database()`, db.url)
      const rels = new Map(
        (
          await one(
            `SELECT pg_relation_filenode(oid) AS f, relname FROM pg_class WHERE relkind IN ('r','i')`,
            db.url,
          )
        )
          .filter((r) => r.f !== null)
          .map((r) => [String(r.f), r.relname]),
      )
      const [{ lsn: start }] = await one('SELECT pg_current_wal_insert_lsn() AS lsn')
      const cpu0 = await backendCpuMs(db.url)
      await drain(q)
      const cpu = (await backendCpuMs(db.url)) - cpu0
      const [{ lsn: end }] = await one('SELECT pg_current_wal_insert_lsn() AS lsn')
      const dump = execFileSync(WALDUMP, ['-p', `${dataDir}/pg_wal`, '-s', start, '-e', end], {
        maxBuffer: 1 << 30,
        encoding: 'utf8',
      })
      const kinds = new Map()
      const xids = new Set()
      const add = (k, len) => {
        const e = kinds.get(k) ?? { n: 0, bytes: 0 }
        e.n++
        e.bytes += len
        kinds.set(k, e)
      }
      const lines = dump.split('\n')
      for (const line of lines) {
        const m = /rmgr: (\S+)\s+len \(rec\/tot\):\s+\d+\/\s*(\d+), tx:\s+(\d+).*desc: (\S+)/.exec(line)
        if (!m) continue
        const rel = new RegExp(`rel \\d+/${oid}/(\\d+)`).exec(line)
        if (!rel) continue
        xids.add(m[3])
        const name = rels.get(rel[1]) ?? rel[1]
        const kind =
          m[1] === 'Btree' || m[1] === 'Heap' || m[1] === 'Heap2'
            ? `${m[1]} ${m[4]} ${name}`
            : `${m[1]} ${m[4]}`
        add(kind, Number(m[2]))
      }
      for (const line of lines) {
        const m = /rmgr: Transaction\s+len \(rec\/tot\):\s+\d+\/\s*(\d+), tx:\s+(\d+).*desc: (\S+)/.exec(line)
        if (m && xids.has(m[2])) add(`Transaction ${m[3]}`, Number(m[1]))
      }
      const per = 10_000 / TOTAL
      let n = 0
      let bytes = 0
      for (const [k, e] of [...kinds].sort()) {
        rows.push([q.name, k, fmt(e.n * per), fmt(e.bytes * per)])
        n += e.n
        bytes += e.bytes
      }
      rows.push([q.name, 'total', fmt(n * per), fmt(bytes * per)])
      rows.push([q.name, "backends' CPU, ms (/proc)", fmt(cpu * per), ''])
    } finally {
      await q.close()
      await db.drop()
    }
  }
} finally {
  await one(`SELECT pg_drop_replication_slot('${slot}')`)
}
console.log(
  `\nWAL of a drain of ${fmt(TOTAL)} (claim 100, ack 100), per 10,000 messages, this database's records only\n`,
)
printTable(['contender', 'record', 'records', 'bytes'], rows)
