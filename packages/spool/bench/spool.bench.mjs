// Spool benchmark: `pnpm bench` (from the repo root or packages/spool). Prints every figure with its
// ratio to a raw better-sqlite3 baseline measured in the same run on the same database settings.
// Figures are medians over several rounds; compare ratios, not absolute times, across machines.
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openConnection, Spool } from '../dist/index.js'

const args = new Set(process.argv.slice(2))
const QUICK = args.has('--quick')
const BIG = QUICK ? 100_000 : 1_000_000
const ROUNDS = QUICK ? 3 : 5
const CYCLES = QUICK ? 1_000 : 3_000
const dir = mkdtempSync(join(tmpdir(), 'agent-comm-bench-'))
const now = () => performance.now()
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const body = 'Please implement user authentication with JWT tokens. Requirements: refresh tokens, revocation.'

/**
 * (a) The writes one delivery needs, as hand-written SQL in autocommit on the spool's own schema and
 * settings, setting the same columns under the same conditions as the spool: insert (the message row and
 * its delivery row, one transaction), the claim update (visible, unexpired, by priority then arrival; lease,
 * attempt, receipt), the ack update (by message id and recipient, checking the receipt). What the spool
 * does beyond these writes — validation, ids, reading the message back, the expired-lease check, building
 * objects, promises — is its overhead, which (b) measures against this.
 */
async function rawBaseline(path) {
  await (await Spool.open({ path })).close() // creates the schema
  const db = openConnection(path)
  const insertMessage = db.prepare(`INSERT INTO messages (id, from_agent, to_agent, subject, body, priority,
    conversation_id, reply_to, ttl_hours, payload, metadata, created_at, expires_at)
    VALUES (?, 'architect', 'builder', 'Task', ?, 2, ?, NULL, 24, NULL, NULL, ?, ?)`)
  const insertDelivery = db.prepare(`INSERT INTO deliveries (message_seq, recipient, status, priority,
    attempt, max_attempts, available_at, expires_at, created_at, updated_at)
    VALUES (?, 'builder', 'queued', 2, 0, 3, ?, ?, ?, ?)`)
  const insert = db.transaction((id, t) => {
    const { lastInsertRowid } = insertMessage.run(id, body, `conv_${id}`, t, t + 86_400_000)
    insertDelivery.run(lastInsertRowid, t, t + 86_400_000, t, t)
  })
  const claim =
    db.prepare(`UPDATE deliveries SET status = 'leased', attempt = attempt + 1, available_at = @lease,
    lease_until = @lease, receipt = @receipt, updated_at = @now
    WHERE id = (SELECT id FROM deliveries WHERE recipient = 'builder' AND status = 'queued' AND available_at <= @now
      AND expires_at > @now ORDER BY priority, id LIMIT 1)
    RETURNING id, message_seq, attempt, max_attempts`)
  const ack =
    db.prepare(`UPDATE deliveries SET status = 'acked', acked_at = @now, updated_at = @now, lease_until = NULL
    WHERE message_seq = (SELECT seq FROM messages WHERE id = @id) AND recipient = 'builder' AND status = 'leased'
      AND receipt = @receipt`)
  let n = 0
  return {
    cycles(count) {
      const t = now()
      for (let i = 0; i < count; i++) {
        const at = Date.now()
        const id = `raw_${n++}`
        insert(id, at)
        claim.get({ lease: at + 60_000, receipt: 'r', now: at })
        ack.run({ now: at, id, receipt: 'r' })
      }
      return count / ((now() - t) / 1000)
    },
    close: () => db.close(),
  }
}

/** For context: the smallest possible queue, one table and one index, the same three autocommit writes. */
function minimalQueue(path) {
  const db = openConnection(path)
  db.exec(`CREATE TABLE IF NOT EXISTS q (id INTEGER PRIMARY KEY, recipient TEXT NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL, lease_until INTEGER);
    CREATE INDEX IF NOT EXISTS q_claim ON q (recipient, id) WHERE status = 'queued';`)
  const insert = db.prepare(`INSERT INTO q (recipient, body, status) VALUES ('builder', ?, 'queued')`)
  const claim = db.prepare(`UPDATE q SET status = 'leased', lease_until = ? WHERE id =
    (SELECT id FROM q WHERE recipient = 'builder' AND status = 'queued' ORDER BY id LIMIT 1) RETURNING id`)
  const ack = db.prepare(`UPDATE q SET status = 'acked' WHERE id = ?`)
  return {
    cycles(count) {
      const t = now()
      for (let i = 0; i < count; i++) {
        insert.run(body)
        ack.run(claim.get(Date.now() + 60_000).id)
      }
      return count / ((now() - t) / 1000)
    },
    close: () => db.close(),
  }
}

/** (b) The spool's own send → claim → ack, one message at a time, claiming with `limit` (1, or a poll's 10). */
async function spoolCycles(spool, n, limit = 1) {
  const t = now()
  for (let i = 0; i < n; i++) {
    await spool.send({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body })
    const [claimed] = await spool.claim('builder', { limit })
    await spool.ack(claimed.message.id, 'builder', { receipt: claimed.lease.receipt })
  }
  return n / ((now() - t) / 1000)
}

/** (c) Batched: send 1,000 per transaction, claim 100, ack 100. Returns messages/s. */
async function batched(spool, total) {
  const t = now()
  for (let sent = 0; sent < total; sent += 1000) {
    await spool.sendBatch(
      Array.from({ length: 1000 }, () => ({
        message: { fromAgent: 'architect', toAgent: 'batch', subject: 'Task', body },
      })),
    )
  }
  for (;;) {
    const claimed = await spool.claim('batch', { limit: 100 })
    if (claimed.length === 0) break
    await spool.ackBatch(
      claimed.map((c) => ({ messageId: c.message.id, agent: 'batch', receipt: c.lease.receipt })),
    )
  }
  return total / ((now() - t) / 1000)
}

/** (d) Send in this process, waitForMessages resolving in another: latency samples in ms. */
async function crossProcessLatency(path, samples) {
  const spool = await Spool.open({ path })
  const child = fork(fileURLToPath(new URL('./latency-consumer.mjs', import.meta.url)), [path], {
    stdio: 'inherit',
  })
  await new Promise((resolve) => child.once('message', resolve))
  const latencies = []
  for (let i = 0; i < samples; i++) {
    const delivered = new Promise((resolve) => child.once('message', resolve))
    const sentAt = performance.timeOrigin + performance.now()
    await spool.send({ fromAgent: 'producer', toAgent: 'consumer', body: `ping ${i}` })
    const { wokeAt } = await delivered
    latencies.push(wokeAt - sentAt)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  child.send('stop')
  await new Promise((resolve) => child.once('exit', resolve))
  await spool.close()
  return latencies
}

/** (e) Median claim latency (claim of 1, acked outside the timing) with `queued` messages waiting. */
async function claimLatency(spool, agent, queued, samples) {
  for (let sent = 0; sent < queued; sent += 1000) {
    await spool.sendBatch(
      Array.from({ length: Math.min(1000, queued - sent) }, () => ({
        message: { fromAgent: 'producer', toAgent: agent, subject: 'Backlog', body },
      })),
    )
  }
  const times = []
  for (let i = 0; i < samples; i++) {
    const t = now()
    const [claimed] = await spool.claim(agent, { limit: 1 })
    times.push(now() - t)
    await spool.ack(claimed.message.id, agent, { receipt: claimed.lease.receipt })
    await spool.send({ fromAgent: 'producer', toAgent: agent, subject: 'Backlog', body })
  }
  return median(times)
}

const lines = []
const report = (label, figure, ratio, target) => {
  lines.push([label, figure, ratio, target])
  process.stdout.write(`${label.padEnd(58)} ${figure.padStart(16)}   ${ratio.padEnd(24)} ${target}\n`)
}

try {
  process.stdout.write(
    `agent-comm spool benchmark — node ${process.version}, ${QUICK ? 'quick' : 'full'} run, medians of ${ROUNDS} rounds\n\n`,
  )
  const raw = await rawBaseline(join(dir, 'raw.db'))
  const minimal = minimalQueue(join(dir, 'minimal.db'))
  const spool = await Spool.open({ path: join(dir, 'spool.db') })
  const spool10 = await Spool.open({ path: join(dir, 'spool10.db') })
  raw.cycles(500)
  minimal.cycles(500)
  await spoolCycles(spool, 500)
  await spoolCycles(spool10, 500, 10)
  const rawRounds = []
  const limit10Rounds = []
  const minimalRounds = []
  const spoolRounds = []
  // Interleaved rounds, so drift in machine load touches every figure alike.
  for (let r = 0; r < ROUNDS; r++) {
    rawRounds.push(raw.cycles(CYCLES))
    spoolRounds.push(await spoolCycles(spool, CYCLES))
    limit10Rounds.push(await spoolCycles(spool10, CYCLES, 10))
    minimalRounds.push(minimal.cycles(CYCLES))
  }
  raw.close()
  minimal.close()
  const a = median(rawRounds)
  const b = median(spoolRounds)
  const m = median(minimalRounds)
  report('(a) raw SQL on the spool schema: insert, claim, ack', `${fmt(a)} cycles/s`, '1.00x (baseline)', '')
  report(
    '    context: one-table queue, same three writes',
    `${fmt(m)} cycles/s`,
    `${fmt(m / a, 2)}x of (a)`,
    '',
  )
  report(
    '(b) spool send -> claim -> ack, unbatched',
    `${fmt(b)} cycles/s`,
    `${fmt(b / a, 2)}x of (a)`,
    'target >= 0.60x',
  )
  const b10 = median(limit10Rounds)
  report(
    "(b) the same claiming with a poll's default limit 10",
    `${fmt(b10)} cycles/s`,
    `${fmt(b10 / a, 2)}x of (a); ${fmt(b10 / b, 2)}x of (b)`,
    'target >= 0.90x of (b)',
  )
  await spool10.close()

  const batchRounds = []
  for (let r = 0; r < ROUNDS; r++) batchRounds.push(await batched(spool, QUICK ? 10_000 : 20_000))
  const c = median(batchRounds)
  report(
    '(c) batched: send 1,000/tx, claim 100, ack 100',
    `${fmt(c)} msgs/s`,
    `${fmt(c / a, 2)}x of (a)`,
    'target >= 50,000 msgs/s',
  )
  await spool.close()

  const latencies = await crossProcessLatency(join(dir, 'latency.db'), QUICK ? 100 : 300)
  const p50 = pct(latencies, 50)
  const p99 = pct(latencies, 99)
  const rawCycleMs = 1000 / a
  report(
    '(d) cross-process send -> waitForMessages, p50',
    `${fmt(p50, 2)} ms`,
    `${fmt(p50 / rawCycleMs, 1)}x a raw cycle`,
    'target <= 5 ms',
  )
  report(
    '(d) cross-process send -> waitForMessages, p99',
    `${fmt(p99, 2)} ms`,
    `${fmt(p99 / rawCycleMs, 1)}x a raw cycle`,
    'target <= 25 ms',
  )

  const small = await Spool.open({ path: join(dir, 'small.db') })
  const smallLatency = await claimLatency(small, 'agent', 1_000, 2_000)
  await small.close()
  const big = await Spool.open({ path: join(dir, 'big.db') })
  const fillStart = now()
  const bigLatency = await claimLatency(big, 'agent', BIG, 2_000)
  const fillSeconds = (now() - fillStart) / 1000
  await big.close()
  report(
    '(e) claim latency, 1,000 queued',
    `${fmt(smallLatency * 1000, 1)} µs`,
    `${fmt((smallLatency * 3) / rawCycleMs, 2)}x a raw write`,
    '',
  )
  report(
    `(e) claim latency, ${fmt(BIG)} queued (filled in ${fmt(fillSeconds, 0)} s)`,
    `${fmt(bigLatency * 1000, 1)} µs`,
    `${fmt(bigLatency / smallLatency, 2)}x of 1,000 queued`,
    'target <= 2x',
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
