// The PostgreSQL store's benchmark (issue #14): `pnpm bench` in packages/postgres, after the driver
// benchmark. Needs a PostgreSQL server: AGENT_COMM_BENCH_PG_URL, default the local one. Every
// contender gets a scratch database of its own on the same server (dropped after); rounds are interleaved
// so a busy moment of the machine hits every contender alike; figures are medians; commits are durable
// (the server's defaults, synchronous_commit on) for every side, except the second table of 2. `--quick` for a smoke run.
//
//  1. unbatched send → claim → ack, the store through the Spool API vs the same statements as raw SQL on the
//     same tables (the store's migrated schema, node-postgres prepared statements, autocommit);
//  2. batched (sendBatch of 1,000, claim 100, ackBatch 100) vs raw SQL and pg-boss (bench/pgboss.bench.mjs),
//     with durable commits, then again with synchronous_commit off for all three (said so in the output);
//  3. cross-process wake-up: send here, a consumer in another process waiting in waitForMessages;
//  4. claim latency with 1,000,000 deliveries queued vs 1,000 (one recipient, and spread over 1,000).
import { fork } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { applyPostgresMigrations, createNodePostgresClient } from '../dist/index.js'
import { runBatched } from './pgboss.bench.mjs'
import { body, fmt, median, now, printTable, scratchDatabase } from './scratch.mjs'
import { openStoreSpool } from './store-spool.mjs'

const QUICK = process.argv.includes('--quick')
const ROUNDS = QUICK ? 3 : 7
const CYCLES = QUICK ? 200 : 600
const BIG = QUICK ? 100_000 : 1_000_000
const S = 'agent_comm'
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const int8AsNumber = {
  getTypeParser: (oid, f) => (oid === 20 ? Number : pg.types.getTypeParser(oid, f)),
}
const summary = []

/**
 * Raw SQL on the store's own tables: the writes one delivery needs, as the store writes them (message and
 * delivery rows in one statement; the claim leasing the next delivery in claim order with SKIP LOCKED and
 * returning its message; the ack fenced by message id, recipient and receipt), prepared, autocommit.
 */
async function rawCycles(url) {
  const setup = createNodePostgresClient({ url, poolSize: 1 })
  await applyPostgresMigrations(setup, S)
  await setup.end()
  const client = new pg.Client({ connectionString: url, types: int8AsNumber })
  await client.connect()
  const send = `WITH m AS (
    INSERT INTO ${S}.messages (id, from_agent, to_agent, subject, body, priority, conversation_id, ttl_hours,
      created_at, expires_at)
    VALUES ($1, 'architect', 'builder', 'Task', $2, 2, $1, 24, $3, $4) RETURNING seq)
  INSERT INTO ${S}.deliveries (message_seq, recipient, status, priority, attempt, max_attempts, available_at,
    expires_at, created_at, updated_at)
  SELECT seq, 'builder', 'queued', 2, 0, 3, $3, $4, $3, $3 FROM m`
  const claim = `WITH c AS (
    SELECT id FROM ${S}.deliveries WHERE recipient = 'builder' AND status = 'queued' AND available_at <= $1
      AND expires_at > $1 ORDER BY priority, id LIMIT 1 FOR UPDATE SKIP LOCKED),
  l AS (UPDATE ${S}.deliveries d SET status = 'leased', attempt = d.attempt + 1, available_at = $2,
      lease_until = $2, receipt = $3 || '.' || d.id, updated_at = $1
    FROM c WHERE d.id = c.id RETURNING d.message_seq, d.receipt)
  SELECT m.id, m.body, l.receipt FROM l JOIN ${S}.messages m ON m.seq = l.message_seq`
  const ack = `UPDATE ${S}.deliveries SET status = 'acked', acked_at = $4, updated_at = $4, lease_until = NULL
    WHERE message_seq = (SELECT seq FROM ${S}.messages WHERE id = $1) AND recipient = $2
      AND status = 'leased' AND receipt = $3`
  let n = 0
  return {
    name: 'raw SQL, same statements and tables',
    async cycles(count) {
      const t = now()
      for (let i = 0; i < count; i++) {
        const at = Date.now()
        const id = `raw_${n++}`
        await client.query({ name: 'send', text: send, values: [id, body, at, at + 86_400_000] })
        const { rows } = await client.query({ name: 'claim', text: claim, values: [at, at + 60_000, 'r'] })
        await client.query({ name: 'ack', text: ack, values: [rows[0].id, 'builder', rows[0].receipt, at] })
      }
      return count / ((now() - t) / 1000)
    },
    close: () => client.end(),
  }
}

/** The store through the Spool API: send, claim 1, ack with the receipt. */
async function spoolCycles(url) {
  const { spool, close } = await openStoreSpool(url, { poolSize: 1 })
  return {
    name: 'PostgresSpoolStore via Spool',
    async cycles(count) {
      const t = now()
      for (let i = 0; i < count; i++) {
        await spool.send({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body })
        const [claimed] = await spool.claim('builder', { limit: 1 })
        await spool.ack(claimed.message.id, 'builder', { receipt: claimed.lease.receipt })
      }
      return count / ((now() - t) / 1000)
    },
    close,
  }
}

async function unbatched() {
  const opened = []
  try {
    for (const [i, open] of [rawCycles, spoolCycles].entries()) {
      const db = await scratchDatabase(`cycles_${i}`)
      opened.push({ db, c: await open(db.url), results: [] })
    }
    for (const o of opened) await o.c.cycles(100) // warm-up: connections, prepared statements
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < opened.length; k++) {
        const o = opened[(r + k) % opened.length]
        o.results.push(await o.c.cycles(CYCLES))
      }
    }
    const [raw, ours] = opened.map((o) => median(o.results))
    console.log(
      `\n1. unbatched send → claim → ack, one message at a time; ${CYCLES} cycles × ${ROUNDS} interleaved rounds (medians)\n`,
    )
    printTable(
      ['contender', 'cycles/s', '× raw'],
      opened.map((o) => [o.c.name, fmt(median(o.results)), fmt(median(o.results) / raw, 2)]),
    )
    summary.push([
      'unbatched cycles, ours / raw SQL',
      `${fmt(ours)} vs ${fmt(raw)} /s`,
      fmt(ours / raw, 2),
      '≥ 0.60',
    ])
  } finally {
    for (const o of opened) {
      await o.c.close()
      await o.db.drop()
    }
  }
}

/**
 * The store through the Spool API as pgboss.bench.mjs's BatchedQueue; `claimCommit: 'relaxed'` for the
 * variant whose claims and acks do not wait for the WAL flush (its sends still do).
 */
async function oursBatched(url, { claimCommit, settle = false } = {}) {
  const { spool, close } = await openStoreSpool(url, { poolSize: 1, claimCommit })
  let n = 0
  // Settle-and-claim: `ack` keeps the batch's acks, and the next `claim` is `ackAndClaim` with them — the
  // acks of 100 and the claim of the next 100 in one statement; the claim that finds nothing acks the last.
  let pending = []
  if (settle) {
    return {
      name: 'the same, settle-and-claim (ackAndClaim)',
      sendBatch: (count) => sendBatch(count),
      async claim(limit) {
        const acks = pending
        pending = []
        return spool.ackAndClaim(acks, 'batch', { limit })
      },
      async ack(claimed) {
        pending = claimed.map((c) => ({ messageId: c.message.id, agent: 'batch', receipt: c.lease.receipt }))
      },
      close,
    }
  }
  async function sendBatch(count) {
    // A body of its own per message, as raw SQL and pg-boss are given (pgboss.bench.mjs).
    await spool.sendBatch(
      Array.from({ length: count }, () => ({
        message: { fromAgent: 'architect', toAgent: 'batch', subject: 'Task', body: `${body} (m_${n++})` },
      })),
    )
  }
  return {
    name: claimCommit === 'relaxed' ? "the same, claimCommit: 'relaxed'" : 'PostgresSpoolStore via Spool',
    sendBatch,
    claim: (limit) => spool.claim('batch', { limit }),
    async ack(claimed) {
      await spool.ackBatch(
        claimed.map((c) => ({ messageId: c.message.id, agent: 'batch', receipt: c.lease.receipt })),
      )
    },
    close,
  }
}

/** Send here, waitForMessages resolving in another process: latency samples in ms. */
async function wakeUp(samples) {
  const db = await scratchDatabase('wake')
  const { spool, close } = await openStoreSpool(db.url)
  const child = fork(fileURLToPath(new URL('./latency-consumer.mjs', import.meta.url)), [db.url], {
    stdio: 'inherit',
  })
  try {
    await new Promise((resolve) => child.once('message', resolve))
    const latencies = []
    const sends = []
    for (let i = 0; i < samples + 20; i++) {
      const delivered = new Promise((resolve) => child.once('message', resolve))
      const sentAt = performance.timeOrigin + performance.now()
      await spool.send({ fromAgent: 'producer', toAgent: 'consumer', body: `ping ${i}` })
      const committedAt = performance.timeOrigin + performance.now()
      const { wokeAt } = await delivered
      // The first 20 warm up. The latency counts from before the send: its commit (a WAL flush) is in it.
      if (i >= 20) {
        latencies.push(wokeAt - sentAt)
        sends.push(committedAt - sentAt)
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const p50 = pct(latencies, 50)
    const p99 = pct(latencies, 99)
    console.log(`\n3. cross-process wake-up, send → waitForMessages in another process; ${samples} samples\n`)
    printTable(
      ['figure', 'ms'],
      [
        ['p50', fmt(p50, 2)],
        ['p99', fmt(p99, 2)],
        ['max', fmt(Math.max(...latencies), 2)],
        ['of which the send call itself (its commit), p50', fmt(pct(sends, 50), 2)],
      ],
    )
    summary.push(['wake-up p50', `${fmt(p50, 2)} ms`, '', '≤ 5 ms'])
    summary.push(['wake-up p99', `${fmt(p99, 2)} ms`, '', '≤ 25 ms'])
  } finally {
    child.send('stop')
    await new Promise((resolve) => child.once('exit', resolve))
    await close()
    await db.drop()
  }
}

/**
 * Fills the store's tables with `count` queued deliveries in one INSERT … SELECT (the backlog is the
 * subject, not how fast it is written), to `recipients` recipients round-robin, then ANALYZE.
 */
async function fill(url, count, recipients) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const at = Date.now()
    await client.query(
      `INSERT INTO ${S}.messages (id, from_agent, to_agent, subject, body, priority, conversation_id, ttl_hours,
         created_at, expires_at)
       SELECT 'fill_' || g, 'producer', 'agent_' || (g % $2::int), 'Backlog', $3::text, 2, 'fill_' || g, 24,
         $1::bigint, $1::bigint + 86400000
       FROM generate_series(1, $4::int) g`,
      [at, recipients, body, count],
    )
    await client.query(
      `INSERT INTO ${S}.deliveries (message_seq, recipient, status, priority, attempt, max_attempts, available_at,
         expires_at, created_at, updated_at)
       SELECT seq, to_agent, 'queued', 2, 0, 3, $1::bigint, expires_at, $1::bigint, $1::bigint
       FROM ${S}.messages ORDER BY seq`,
      [at],
    )
    await client.query(`VACUUM ANALYZE ${S}.messages`)
    await client.query(`VACUUM ANALYZE ${S}.deliveries`)
  } finally {
    await client.end()
  }
}

/** Median time of a claim of 1 for `agent` (acked and replaced by a new send outside the timing). */
async function claimTimes(spool, agent, samples) {
  const times = []
  for (let i = 0; i < samples; i++) {
    const t = now()
    const [claimed] = await spool.claim(agent, { limit: 1 })
    times.push(now() - t)
    await spool.ack(claimed.message.id, agent, { receipt: claimed.lease.receipt })
    await spool.send({ fromAgent: 'producer', toAgent: agent, subject: 'Backlog', body })
  }
  return times
}

async function claimUnderBacklog() {
  const samples = QUICK ? 100 : 300
  const setups = [
    { label: 'small_one', name: '1,000 queued, one recipient', count: 1_000, recipients: 1 },
    { label: 'big_one', name: `${fmt(BIG)} queued, one recipient`, count: BIG, recipients: 1 },
    { label: 'small_many', name: '1,000 queued over 1,000 recipients', count: 1_000, recipients: 1_000 },
    { label: 'big_many', name: `${fmt(BIG)} queued over 1,000 recipients`, count: BIG, recipients: 1_000 },
  ]
  const opened = []
  try {
    for (const s of setups) {
      const db = await scratchDatabase(`claim_${s.label}`)
      const o = { ...s, db, times: [] }
      opened.push(o)
      const t = now()
      const { spool, close } = await openStoreSpool(db.url, { poolSize: 1 })
      o.spool = spool
      o.close = close
      await fill(db.url, s.count, s.recipients)
      o.fillSeconds = (now() - t) / 1000
      if (s.count === BIG) console.log(`   filled ${s.name} in ${fmt(o.fillSeconds)} s`)
      await claimTimes(spool, 'agent_0', 20) // warm-up
    }
    // Interleaved: a slice of samples from each setup in turn.
    const slices = 5
    for (let r = 0; r < slices; r++) {
      for (const o of opened) o.times.push(...(await claimTimes(o.spool, 'agent_0', samples / slices)))
    }
    console.log(`\n4. claim latency of a claim of 1 (medians of ${samples}; filled by INSERT … SELECT)\n`)
    const m = (o) => median(o.times)
    printTable(
      ['backlog', 'claim median ms', 'p99 ms', '× 1,000 queued'],
      opened.map((o, i) => [
        o.name,
        fmt(m(o), 3),
        fmt(pct(o.times, 99), 3),
        fmt(m(o) / m(opened[i % 2 === 0 ? i : i - 1]), 2),
      ]),
    )
    summary.push([
      `claim, ${fmt(BIG)} vs 1,000 queued, one recipient`,
      `${fmt(m(opened[1]), 2)} vs ${fmt(m(opened[0]), 2)} ms`,
      fmt(m(opened[1]) / m(opened[0]), 2),
      '≤ 2',
    ])
    summary.push([
      `claim, ${fmt(BIG)} vs 1,000 queued, 1,000 recipients`,
      `${fmt(m(opened[3]), 2)} vs ${fmt(m(opened[2]), 2)} ms`,
      fmt(m(opened[3]) / m(opened[2]), 2),
      '≤ 2',
    ])
  } finally {
    for (const o of opened) {
      await o.close?.()
      await o.db.drop()
    }
  }
}

console.log(
  `agent-comm PostgreSQL store benchmark — node ${process.version}, ${QUICK ? 'quick' : 'full'} run, ${new Date().toISOString()}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7)
// What stands in for autovacuum before each batched round (see runBatched): vacuum (default), analyze, none.
const maintenance = process.argv.find((a) => a.startsWith('--maintenance='))?.slice(14) ?? 'vacuum'
if (!only || only === '1') await unbatched()
if (!only || only === '2') {
  // Beside it, the store with relaxed claim and ack commits (an option, not the default): what skipping two
  // of the three flushes per 100 messages buys when every other write stays durable.
  const relaxed = (url) => oursBatched(url, { claimCommit: 'relaxed' })
  // And the store as a consumer loop would drive it with settle-and-claim (`Spool.ackAndClaim`, what
  // `coordinator.messages({ autoAck })` uses): not the headline, which keeps claim and ack as two calls.
  const settle = (url) => oursBatched(url, { settle: true })
  summary.push(...(await runBatched({ ours: [oursBatched, relaxed, settle], quick: QUICK, maintenance })))
  // The same with commits that do not wait for the WAL flush, on every side alike: what the statements and
  // the code around them cost once the disk is out of the way. Not the headline figure.
  summary.push(...(await runBatched({ ours: oursBatched, quick: QUICK, asyncCommit: true, maintenance })))
}
if (!only || only === '3') await wakeUp(QUICK ? 100 : 300)
if (!only || only === '4') await claimUnderBacklog()
console.log(
  `\nsummary (load average at the end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')})\n`,
)
printTable(['figure', 'measured', 'ratio', 'target'], summary)
