// Where the batched drain's time goes (claim 100 + ackBatch 100 until empty, after a send of 10,000): the
// store through the Spool against the store's own claim and ack statements run as raw SQL on the same
// tables (pg.Client, prepared), in interleaved rounds, each contender in a scratch database of its own.
// Per contender, medians of the rounds: msgs/s; node CPU (process.cpuUsage) and the CPU of the database's
// PostgreSQL backends (/proc/<pid>/stat, so the server must run on this machine) per 10,000 messages;
// statements and socket reads per claim and per ack; the client-observed time of one claim and one ack;
// and each claim + ack pair's wall time split by /proc/<pid>/schedstat into node's main thread and the
// backends on a CPU, each runnable but waiting for one, and the rest (neither: blocked on I/O, the WAL
// flush, a wake-up) — what tells a cost of CPU from one of latency on a machine that is not quiet.
//
//   node bench/drain.bench.mjs [--quick] [--rounds=N] [--builds=main:/work/main/packages,this:../..]
//     [--store-client] [--bench-raw] [--pgboss] [--no-raw]
//
// `--builds` measures several builds of the store side by side (each path holds postgres/dist and
// spool/dist; default this checkout's); `--store-client` adds the store's statements on the store's own
// SqlClient (pg.Pool, error mapping) without the Spool and the store; `--bench-raw` the batched
// benchmark's raw SQL (scratch.mjs: its own schema and simpler statements); `--pgboss` pg-boss.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Socket } from 'node:net'
import { loadavg } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { pgBoss, rawSql } from './pgboss.bench.mjs'
import { body, fmt, median, now, printTable, SERVER_URL, scratchDatabase } from './scratch.mjs'

const QUICK = process.argv.includes('--quick')
const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (QUICK ? 3 : 7))
const TOTAL = QUICK ? 2_000 : 10_000
const here = fileURLToPath(new URL('../..', import.meta.url))
const builds = (process.argv.find((a) => a.startsWith('--builds='))?.slice(9) ?? `this:${here}`)
  .split(',')
  .map((b) => {
    const at = b.indexOf(':')
    return { label: b.slice(0, at), packages: b.slice(at + 1).replace(/\/$/, '') }
  })
// Socket reads of this process (every contender's connections): how many pieces an answer arrives in.
const reads = { n: 0 }
const emit = Socket.prototype.emit
Socket.prototype.emit = function (event, ...args) {
  if (event === 'data') reads.n++
  return emit.call(this, event, ...args)
}
const withRaw = !process.argv.includes('--no-raw')
const TICK_MS = 1000 / 100 // USER_HZ

/** utime + stime of a process, in ms. */
function procCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch {
    return 0
  }
}

/** [on-CPU ns, waiting-for-a-CPU ns] of a process's main thread (/proc/<pid>/schedstat). */
function sched(pid) {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number)
    return [run, wait]
  } catch {
    return [0, 0]
  }
}
const schedSum = (pids) => pids.map(sched).reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0])

/** Counts statements sent through a pg module's Client.prototype.query. */
function countQueries(pg) {
  const counter = { n: 0 }
  const original = pg.Client.prototype.query
  if (original.counter !== undefined) return original.counter
  pg.Client.prototype.query = function (...args) {
    counter.n++
    return original.apply(this, args)
  }
  pg.Client.prototype.query.counter = counter
  return counter
}

/** Backend pids of a database (not this session's). */
async function backendPids(admin, datname) {
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [datname])
  return rows.map((r) => r.pid)
}

/** The store through a Spool, from the build under `packages`. */
async function spoolContender(label, packages, url) {
  const pgStore = await import(pathToFileURL(`${packages}/postgres/dist/index.js`).href)
  const { Spool } = await import(pathToFileURL(`${packages}/spool/dist/index.js`).href)
  const pg = createRequire(`${packages}/postgres/dist/index.js`)('pg')
  const counter = countQueries(pg)
  const client = pgStore.createNodePostgresClient({ url, poolSize: 1, prepare: true })
  const store = await pgStore.openPostgresSpoolStore({ client, location: 'bench' })
  const spool = await Spool.open({ store })
  let n = 0
  return {
    name: `${label}: store via Spool`,
    counter,
    plans: () =>
      client.query(
        'SELECT left(statement, 40) AS s, generic_plans AS g, custom_plans AS c FROM pg_prepared_statements WHERE generic_plans + custom_plans > 10',
      ),
    async sendBatch(count) {
      await spool.sendBatch(
        Array.from({ length: count }, () => ({
          message: { fromAgent: 'architect', toAgent: 'batch', subject: 'Task', body: `${body} (m_${n++})` },
        })),
      )
    },
    claim: (limit) => spool.claim('batch', { limit }),
    async ack(claimed) {
      await spool.ackBatch(
        claimed.map((c) => ({ messageId: c.message.id, agent: 'batch', receipt: c.lease.receipt })),
      )
    },
    close: async () => {
      await spool.close()
      await client.end()
    },
  }
}

/** The store's own claim and ack statements, run as raw SQL on one pg.Client (sends through a Spool). */
async function storeSqlContender(url, { viaStoreClient = false } = {}) {
  const packages = builds[0].packages
  const sender = await spoolContender('raw', packages, url)
  const { writeStatements } = await import(pathToFileURL(`${packages}/postgres/dist/statements.js`).href)
  const { textArrayLiteral } = await import(pathToFileURL(`${packages}/postgres/dist/array-literal.js`).href)
  const pg = createRequire(`${packages}/postgres/dist/index.js`)('pg')
  const sql = writeStatements('agent_comm')
  let client
  if (viaStoreClient) {
    // The store's own SqlClient (pg.Pool of 1, named statements, its error mapping): what the Spool and
    // the store add on top of it is the difference to the contender through the Spool.
    const { createNodePostgresClient } = await import(
      pathToFileURL(`${packages}/postgres/dist/index.js`).href
    )
    const sqlClient = createNodePostgresClient({ url, poolSize: 1, prepare: true })
    client = {
      query: async ({ text, values }) => ({ rows: await sqlClient.query(text, values) }),
      end: () => sqlClient.end(),
    }
  } else {
    client = new pg.Client({
      connectionString: url,
      types: { getTypeParser: (oid, f) => (oid === 20 ? Number : pg.types.getTypeParser(oid, f)) },
    })
    await client.connect()
  }
  return {
    name: viaStoreClient ? "the store's statements on its SqlClient" : "the store's statements as raw SQL",
    counter: sender.counter,
    sendBatch: sender.sendBatch,
    async claim(limit) {
      const at = Date.now()
      const { rows } = await client.query({
        name: 'claim',
        text: sql.claim,
        values: ['batch', at, limit, at + 60_000, 'r0123456789ab'],
      })
      return rows
    },
    async ack(rows) {
      const { rows: res } = await client.query({
        name: 'ack',
        text: sql.ackAllByReceipt,
        values: [
          textArrayLiteral(rows.map((r) => r.id)),
          textArrayLiteral(rows.map(() => 'batch')),
          textArrayLiteral(rows.map((r) => r.receipt)),
          Date.now(),
          rows.length,
        ],
      })
      if (res[0].n !== rows.length) throw new Error(`acked ${res[0].n} of ${rows.length}`)
    },
    close: async () => {
      await client.end()
      await sender.close()
    },
  }
}

/**
 * A contender of pgboss.bench.mjs (its raw SQL on its own schema, pg-boss), with the statements counted on
 * the `pg` module it runs on.
 */
async function batchedContender(factory, pgModule, url) {
  return { ...(await factory(url)), counter: countQueries(pgModule) }
}

async function round(o) {
  for (let sent = 0; sent < TOTAL; sent += 1000) await o.c.sendBatch(1000)
  const before = await backendPids(admin, o.datname)
  const q0 = o.c.counter.n
  const r0 = reads.n
  const claimTimes = []
  const ackTimes = []
  let claims = 0
  let acks = 0
  const cpu0 = process.cpuUsage()
  const pg0 = before.reduce((s, p) => s + procCpuMs(p), 0)
  const nodeSched0 = sched(process.pid)
  const pgSched0 = schedSum(before)
  const t0 = now()
  let drained = 0
  let claimQueries = 0
  let claimReads = 0
  for (;;) {
    const qa = o.c.counter.n
    const ra = reads.n
    const ta = now()
    const handles = await o.c.claim(100)
    claimReads += reads.n - ra
    claimTimes.push(now() - ta)
    claimQueries += o.c.counter.n - qa
    claims++
    if (handles.length === 0) break
    const tb = now()
    await o.c.ack(handles)
    ackTimes.push(now() - tb)
    acks++
    drained += handles.length
  }
  const wall = now() - t0
  const nodeSched = sched(process.pid).map((x, i) => x - nodeSched0[i])
  const cpu = process.cpuUsage(cpu0)
  // Before the look-up below, whose statement and reads would count (the admin client may share a `pg`).
  const queries = o.c.counter.n - q0
  const allReads = reads.n - r0
  // A pool that dropped its idle connection opens a new one during the drain: counted whole.
  const pids = [...new Set([...before, ...(await backendPids(admin, o.datname))])]
  const pgSched = schedSum(pids).map((x, i) => x - pgSched0[i])
  const pgCpu = pids.reduce((s, p) => s + procCpuMs(p), 0) - pg0
  if (drained !== TOTAL) throw new Error(`${o.c.name}: drained ${drained} of ${TOTAL}`)
  const per = 10_000 / TOTAL
  return {
    rate: TOTAL / (wall / 1000),
    node: ((cpu.user + cpu.system) / 1000) * per,
    pg: pgCpu * per,
    claimMs: median(claimTimes),
    ackMs: median(ackTimes),
    claimQ: claimQueries / claims,
    // Per claim + ack pair, in ms: on-CPU and runnable-but-waiting time of node's main thread and of the
    // backends, and the rest of the wall time (neither side running nor runnable: I/O, the WAL flush, wake-ups).
    pairMs: wall / acks,
    nodeRun: nodeSched[0] / 1e6 / acks,
    nodeWait: nodeSched[1] / 1e6 / acks,
    pgRun: pgSched[0] / 1e6 / acks,
    pgWait: pgSched[1] / 1e6 / acks,
    rest: (wall - (nodeSched[0] + nodeSched[1] + pgSched[0] + pgSched[1]) / 1e6) / acks,
    ackQ: (queries - claimQueries) / acks,
    claimReads: claimReads / claims,
    ackReads: (allReads - claimReads) / acks,
  }
}

const pg = createRequire(import.meta.url)('pg')
const admin = new pg.Client({ connectionString: SERVER_URL })
await admin.connect()
console.log(
  `drain profile — node ${process.version}, ${new Date().toISOString()}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
const factories = [
  ...builds.map((b) => (url) => spoolContender(b.label, b.packages, url)),
  ...(withRaw ? [storeSqlContender] : []),
  ...(process.argv.includes('--store-client')
    ? [(url) => storeSqlContender(url, { viaStoreClient: true })]
    : []),
  ...(process.argv.includes('--bench-raw') ? [(url) => batchedContender(rawSql, pg, url)] : []),
  ...(process.argv.includes('--pgboss')
    ? [
        (url) =>
          batchedContender(
            pgBoss,
            createRequire(createRequire(import.meta.url).resolve('pg-boss'))('pg'),
            url,
          ),
      ]
    : []),
]
const opened = []
try {
  for (const [i, factory] of factories.entries()) {
    const db = await scratchDatabase(`drain_${i}`)
    const c = await factory(db.url)
    const datname = new URL(db.url).pathname.slice(1)
    opened.push({ db, c, datname, results: [] })
  }
  for (const o of opened) {
    await round(o) // warm-up: connections, prepared statements
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < opened.length; k++) {
      const o = opened[(r + k) % opened.length]
      o.results.push(await round(o))
    }
  }
  const m = (o, key) => median(o.results.map((x) => x[key]))
  console.log(
    `\ndrain of ${fmt(TOTAL)} (claim 100, ackBatch 100), ${ROUNDS} interleaved rounds, medians; CPU ms per 10,000\n`,
  )
  printTable(
    [
      'contender',
      'msgs/s',
      'node CPU',
      'PG CPU',
      'claim ms',
      'ack ms',
      'stmts/claim',
      'stmts/ack',
      'reads/claim',
      'reads/ack',
    ],
    opened.map((o) => [
      o.c.name,
      fmt(m(o, 'rate')),
      fmt(m(o, 'node')),
      fmt(m(o, 'pg')),
      fmt(m(o, 'claimMs'), 2),
      fmt(m(o, 'ackMs'), 2),
      fmt(m(o, 'claimQ'), 2),
      fmt(m(o, 'ackQ'), 2),
      fmt(m(o, 'claimReads'), 2),
      fmt(m(o, 'ackReads'), 2),
    ]),
  )
  console.log(
    '\nper claim + ack pair (ms, medians): wall = node on CPU + node runnable + PG on CPU + PG runnable + rest (blocked: I/O, WAL flush, wake-ups)\n',
  )
  printTable(
    ['contender', 'wall', 'node run', 'node wait', 'PG run', 'PG wait', 'rest'],
    opened.map((o) => [
      o.c.name,
      ...['pairMs', 'nodeRun', 'nodeWait', 'pgRun', 'pgWait', 'rest'].map((k) => fmt(m(o, k), 2)),
    ]),
  )
  console.log(
    `\nPG on CPU per pair, by round: ${opened.map((o) => `${o.c.name}: ${o.results.map((x) => fmt(x.pgRun, 2)).join(' ')}`).join('; ')}`,
  )
  console.log(
    `\nper round msgs/s: ${opened.map((o) => `${o.c.name}: ${o.results.map((x) => fmt(x.rate)).join(' ')}`).join('; ')}`,
  )
  // Executions of each prepared statement on the pool's present connection: fewer than the claims made means
  // the pool dropped its idle connection between rounds (pg.Pool's idleTimeoutMillis, 10 s) and opened a new one.
  for (const o of opened) {
    if (o.c.plans)
      console.log(
        `\n${o.c.name}, prepared statements on its connection: ${JSON.stringify(await o.c.plans())}`,
      )
  }
} finally {
  for (const o of opened) {
    await o.c.close()
    await o.db.drop()
  }
  await admin.end()
  console.log(
    `load average at the end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  )
}
