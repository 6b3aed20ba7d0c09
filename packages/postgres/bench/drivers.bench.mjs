// Driver benchmark: `pnpm bench` in packages/postgres (needs a PostgreSQL server: AGENT_COMM_BENCH_PG_URL,
// default the local one). The unbatched send → claim → ack cycle, one message at a time, as the same SQL
// on node-postgres (`pg`) and on postgres.js, each in a database of its own, rounds interleaved so a busy
// moment of the machine hits every contender alike. Figures are medians; compare ratios, not absolute
// rates, across machines. `--quick` for a smoke run.
import pg from 'pg'
import postgres from 'postgres'
import { createNodePostgresClient } from '../dist/index.js'
import {
  ACK_ONE,
  body,
  CLAIM,
  fmt,
  median,
  now,
  printTable,
  SCHEMA,
  SEND_ONE,
  scratchDatabase,
} from './scratch.mjs'

const QUICK = process.argv.includes('--quick')
const ROUNDS = QUICK ? 3 : 7

/** node-postgres, unnamed statements (parse + bind + execute each time, in one round trip). */
function pgPool(url, { named }) {
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    types: { getTypeParser: (oid, f) => (oid === 20 ? Number : pg.types.getTypeParser(oid, f)) },
  })
  const q = (name, text, values) => pool.query(named ? { name, text, values } : { text, values })
  return {
    send: (id, to, at) => q('send', SEND_ONE, [id, to, body, at, at + 86_400_000]),
    claim: async (to, at) => (await q('claim', CLAIM, [to, at, 'r', at + 60_000, 1])).rows,
    ack: async (id, receipt, at) => (await q('ack', ACK_ONE, [id, at, receipt])).rows,
    close: () => pool.end(),
  }
}

/** postgres.js with `unsafe` (SQL text + parameters, as a store would pass them), prepared or not. */
function postgresJs(url, { prepare }) {
  const sql = postgres(url, {
    max: 1,
    prepare,
    onnotice: () => undefined,
    types: { bigint: { to: 20, from: [20], serialize: (x) => String(x), parse: (x) => Number(x) } },
  })
  const q = (text, values) => sql.unsafe(text, values, { prepare })
  return {
    send: (id, to, at) => q(SEND_ONE, [id, to, body, at, at + 86_400_000]),
    claim: (to, at) => q(CLAIM, [to, at, 'r', at + 60_000, 1]),
    ack: (id, receipt, at) => q(ACK_ONE, [id, at, receipt]),
    close: () => sql.end(),
  }
}

/** This package's own node-postgres SqlClient (error mapping, int8 parser) on the same SQL. */
function adapter(url) {
  const client = createNodePostgresClient({ url, poolSize: 1 })
  return {
    send: (id, to, at) => client.query(SEND_ONE, [id, to, body, at, at + 86_400_000]),
    claim: (to, at) => client.query(CLAIM, [to, at, 'r', at + 60_000, 1]),
    ack: (id, receipt, at) => client.query(ACK_ONE, [id, at, receipt]),
    close: () => client.end(),
  }
}

const contenders = [
  { label: 'pg', name: 'pg (unnamed statements)', open: (url) => pgPool(url, { named: false }) },
  { label: 'pgnamed', name: 'pg (named = prepared)', open: (url) => pgPool(url, { named: true }) },
  { label: 'pjs', name: 'postgres.js (prepared)', open: (url) => postgresJs(url, { prepare: true }) },
  { label: 'pjsnp', name: 'postgres.js (not prepared)', open: (url) => postgresJs(url, { prepare: false }) },
  { label: 'adapter', name: 'createNodePostgresClient', open: adapter },
]

let n = 0
async function cycles(c, count) {
  const t = now()
  for (let i = 0; i < count; i++) {
    const at = Date.now()
    const id = `m_${n++}`
    await c.send(id, 'builder', at)
    const [claimed] = await c.claim('builder', at)
    const result = await c.ack(claimed.id, claimed.receipt, at)
    if (result.length !== 1) throw new Error(`ack of ${claimed.id} changed no row`)
  }
  return count / ((now() - t) / 1000)
}

// Two settings: durable (synchronous_commit on, as a spool runs: each write waits for its WAL flush, which
// dominates a one-message cycle) and synchronous_commit off (no flush wait: what remains is the driver's
// and the protocol's own cost, where drivers differ).
const MODES = [
  {
    key: 'durable',
    title: 'durable commits (synchronous_commit on)',
    setting: 'on',
    cycles: QUICK ? 100 : 400,
  },
  {
    key: 'nowait',
    title: 'no flush wait (synchronous_commit off: driver and protocol cost)',
    setting: 'off',
    cycles: QUICK ? 300 : 2_000,
  },
]

const opened = []
try {
  for (const mode of MODES) {
    for (const c of contenders) {
      const db = await scratchDatabase(`${c.label}_${mode.key}`)
      const setup = new pg.Client({ connectionString: db.url })
      await setup.connect()
      await setup.query(SCHEMA)
      await setup.query(
        `ALTER DATABASE "${new URL(db.url).pathname.slice(1)}" SET synchronous_commit = ${mode.setting}`,
      )
      await setup.end()
      opened.push({ ...c, mode, db, impl: c.open(db.url), rates: [] })
    }
  }
  for (const o of opened) await cycles(o.impl, Math.max(50, o.mode.cycles / 10)) // warm-up: connect, plan, cache
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order each round so no contender always runs first or last.
    for (let k = 0; k < opened.length; k++) {
      const o = opened[(r + k) % opened.length]
      o.rates.push(await cycles(o.impl, o.mode.cycles))
    }
  }
  for (const mode of MODES) {
    const rows = opened.filter((o) => o.mode === mode)
    const base = median(rows[0].rates)
    console.log(
      `\nsend → claim → ack, one message per call, ${fmt(mode.cycles)} cycles × ${ROUNDS} interleaved rounds (medians)`,
    )
    console.log(`${mode.title}\n`)
    printTable(
      ['driver', 'cycles/s', 'min', 'max', '× pg unnamed'],
      rows.map((o) => [
        o.name,
        fmt(median(o.rates)),
        fmt(Math.min(...o.rates)),
        fmt(Math.max(...o.rates)),
        fmt(median(o.rates) / base, 2),
      ]),
    )
  }
} finally {
  for (const o of opened) {
    await o.impl.close()
    await o.db.drop()
  }
}
