// Coordinator benchmark: `pnpm bench` (from the repo root or packages/coordinator). Prints the machine's raw
// baseline first — hand-written better-sqlite3 doing the writes one delivery needs — then every figure as a
// ratio to it, measured in the same run, in interleaved rounds (so drift in machine load touches every
// figure alike), medians. Compare ratios, not absolute times, across machines.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openConnection, Spool } from '@agent-comm/spool'
import { createCoordinator, loadConfig } from '../dist/index.js'

const QUICK = process.argv.includes('--quick')
const ROUNDS = QUICK ? 5 : 9
const CYCLES = QUICK ? 500 : 1_500
const dir = mkdtempSync(join(tmpdir(), 'agent-comm-coordinator-bench-'))
const now = () => performance.now()
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const body = 'Please implement user authentication with JWT tokens. Requirements: refresh tokens, revocation.'

/** The writes of one delivery as raw SQL in autocommit on the spool's schema (as in the spool's bench). */
async function rawBaseline(path) {
  await (await Spool.open({ path })).close()
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
    async cycles(count) {
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

async function openCoordinator(name) {
  const root = join(dir, name)
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: root }))
  await coord.register({ agentId: 'architect', capabilities: ['planning'] })
  await coord.register({ agentId: 'builder', capabilities: ['code'] })
  return coord
}

/** Coordinator send → poll → ack, one message at a time, at claim limit `limit`. */
function coordinatorCycles(coord, limit) {
  return async (count) => {
    const t = now()
    for (let i = 0; i < count; i++) {
      await coord.send({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body })
      const [claimed] = await coord.poll('builder', { limit })
      await coord.ack(claimed)
    }
    return count / ((now() - t) / 1000)
  }
}

/** Spool send → claim → ack at claim limit `limit` (the default limit of a poll is 10). */
function spoolCycles(spool, limit) {
  return async (count) => {
    const t = now()
    for (let i = 0; i < count; i++) {
      await spool.send({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body })
      const [claimed] = await spool.claim('builder', { limit })
      await spool.ack(claimed.message.id, 'builder', { receipt: claimed.lease.receipt })
    }
    return count / ((now() - t) / 1000)
  }
}

/** Sends issued together: each call sends `CONCURRENT` messages, awaited together or one after another. */
const CONCURRENT = 16
function sendCycles(coord, together) {
  const one = () => coord.send({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body })
  return async (count) => {
    const rounds = Math.ceil(count / CONCURRENT)
    const t = now()
    for (let i = 0; i < rounds; i++) {
      if (together) await Promise.all(Array.from({ length: CONCURRENT }, one))
      else for (let j = 0; j < CONCURRENT; j++) await one()
    }
    return (rounds * CONCURRENT) / ((now() - t) / 1000)
  }
}

/**
 * A `for await` consumer: `count` messages sent up front (outside the timing), then consumed one by one
 * with `for await (const msg of coord.messages('builder', { limit })) await coord.ack(msg)`, or with
 * `autoAck` and no ack in the body. Both loops of a comparison claim at the same `limit`.
 */
function consumerCycles(coord, { autoAck = false, limit = 1 } = {}) {
  return async (count) => {
    for (let i = 0; i < count; i++) {
      await coord.send({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body })
    }
    const stop = new AbortController()
    let seen = 0
    const cpuBefore = process.cpuUsage()
    const t = now()
    if (autoAck) {
      for await (const _ of coord.messages('builder', { signal: stop.signal, limit, autoAck })) {
        if (++seen === count) stop.abort()
      }
    } else {
      for await (const message of coord.messages('builder', { signal: stop.signal, limit })) {
        await coord.ack(message)
        if (++seen === count) stop.abort()
      }
    }
    const rate = count / ((now() - t) / 1000)
    const { user, system } = process.cpuUsage(cpuBefore)
    // The sends before the loop are left out of the CPU figure, as they are out of the time.
    return { rate, cpu: (user + system) / count }
  }
}

const lines = []
const report = (label, figure, ratio, target = '') => {
  lines.push([label, figure, ratio, target])
  process.stdout.write(`${label.padEnd(56)} ${figure.padStart(16)}   ${ratio.padEnd(20)} ${target}\n`)
}

try {
  process.stdout.write(
    `agent-comm coordinator benchmark — node ${process.version}, ${QUICK ? 'quick' : 'full'} run, medians of ${ROUNDS} interleaved rounds\n\n`,
  )
  const raw = await rawBaseline(join(dir, 'raw.db'))
  const coord1 = await openCoordinator('c1')
  const coord10 = await openCoordinator('c10')
  const consumer = await openCoordinator('consumer')
  const settling = await openCoordinator('settling')
  const consumer10 = await openCoordinator('consumer10')
  const settling10 = await openCoordinator('settling10')
  const sender = await openCoordinator('sender')
  const spool1 = await Spool.open({ path: join(dir, 's1.db') })
  const spool10 = await Spool.open({ path: join(dir, 's10.db') })
  const runs = {
    raw: raw.cycles,
    coord1: coordinatorCycles(coord1, 1),
    coord10: coordinatorCycles(coord10, 10),
    spool1: spoolCycles(spool1, 1),
    spool10: spoolCycles(spool10, 10),
    consumer: consumerCycles(consumer),
    settling: consumerCycles(settling, { autoAck: true }),
    consumer10: consumerCycles(consumer10, { limit: 10 }),
    settling10: consumerCycles(settling10, { autoAck: true, limit: 10 }),
    sequential: sendCycles(sender, false),
    together: sendCycles(sender, true),
  }
  const rounds = Object.fromEntries(Object.keys(runs).map((k) => [k, []]))
  // CPU time (user + system) per cycle beside the wall time: on a machine other work keeps busy, a cycle
  // waits for a core for longer than it runs, and the CPU it spends moves far less between runs.
  const cpuRounds = Object.fromEntries(Object.keys(runs).map((k) => [k, []]))
  for (const run of Object.values(runs)) await run(208) // warm-up (a multiple of CONCURRENT)
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of Object.entries(runs)) {
      const before = process.cpuUsage()
      const out = await run(CYCLES)
      const { user, system } = process.cpuUsage(before)
      rounds[name].push(typeof out === 'number' ? out : out.rate)
      cpuRounds[name].push(typeof out === 'number' ? (user + system) / CYCLES : out.cpu)
    }
  }
  const m = Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)]))
  const cpu = Object.fromEntries(Object.entries(cpuRounds).map(([k, v]) => [k, median(v)]))
  /** CPU per cycle of the raw baseline over that of `k`: the wall ratio's twin, steadier under load. */
  const cpuRatio = (k) => `${fmt(cpu.raw / cpu[k], 2)}x`
  const spread = (k) => {
    const v = rounds[k].map((x) => x / median(rounds.raw))
    return `${fmt(Math.min(...v), 2)}–${fmt(Math.max(...v), 2)}x`
  }
  report('baseline: raw SQL insert, claim, ack (autocommit)', `${fmt(m.raw)} cycles/s`, '1.00x')
  report('baseline: the same, CPU time per cycle', `${fmt(cpu.raw, 1)} µs`, '1.00x')
  report(
    'coordinator send -> poll -> ack, limit 1',
    `${fmt(m.coord1)} cycles/s`,
    `${fmt(m.coord1 / m.raw, 2)}x (${spread('coord1')}); CPU ${cpuRatio('coord1')}`,
    'target >= 0.60x',
  )
  report(
    'coordinator send -> poll -> ack, default limit 10',
    `${fmt(m.coord10)} cycles/s`,
    `${fmt(m.coord10 / m.raw, 2)}x (${spread('coord10')}); CPU ${cpuRatio('coord10')}`,
    'target >= 0.60x',
  )
  report(
    'spool send -> claim -> ack, limit 1',
    `${fmt(m.spool1)} cycles/s`,
    `${fmt(m.spool1 / m.raw, 2)}x; CPU ${cpuRatio('spool1')}`,
  )
  report(
    'spool send -> claim -> ack, limit 10',
    `${fmt(m.spool10)} cycles/s`,
    `${fmt(m.spool10 / m.raw, 2)}x; ${fmt(m.spool10 / m.spool1, 2)}x of limit 1; CPU ${fmt(cpu.spool1 / cpu.spool10, 2)}x`,
    'target >= 0.90x of limit 1',
  )
  for (const [limit, plain, settled] of [
    [1, 'consumer', 'settling'],
    [10, 'consumer10', 'settling10'],
  ]) {
    report(
      `for await consumer, limit ${limit}: messages() + ack`,
      `${fmt(m[plain])} msgs/s`,
      `${fmt(m[plain] / m.raw, 2)}x`,
    )
    report(
      `for await consumer, limit ${limit}: autoAck (settle-and-claim)`,
      `${fmt(m[settled])} msgs/s`,
      `${fmt(m[settled] / m.raw, 2)}x; ${fmt(m[settled] / m[plain], 2)}x of ack + claim; CPU ${fmt(cpu[plain] / cpu[settled], 2)}x`,
      'target >= 1.40x of ack + claim',
    )
  }
  report(
    `coordinator.send, ${CONCURRENT} awaited one by one`,
    `${fmt(m.sequential)} msgs/s`,
    `${fmt(m.sequential / m.raw, 2)}x`,
  )
  report(
    `coordinator.send, ${CONCURRENT} issued together (group commit)`,
    `${fmt(m.together)} msgs/s`,
    `${fmt(m.together / m.raw, 2)}x; ${fmt(m.together / m.sequential, 2)}x of one by one; CPU ${fmt(cpu.sequential / cpu.together, 2)}x`,
  )
  raw.close()
  for (const c of [coord1, coord10, consumer, settling, consumer10, settling10, sender]) await c.close()
  await spool1.close()
  await spool10.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
