// Relay benchmark: `pnpm bench` (from apps/relay, after a build). The relay runs as a child process (the
// bin, as deployed) on 127.0.0.1; one RelayClient drives it over keep-alive HTTP with every request
// HMAC-signed and nonce-checked. The client shares requests between concurrent calls (its default); the
// same cycles with `coalesce: false` show the cost of one request per call. Each figure is printed beside the same operation on an in-process spool
// measured in the same run. Figures are medians of several rounds. `--quick` for a short run.
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import { Spool } from '@agent-comm/spool'
import { RelayClient } from '@agent-comm/transport-http'
import { freePort, startRelayProcess } from './relay-process.mjs'

const QUICK = process.argv.includes('--quick')
const ROUNDS = QUICK ? 3 : 5
const CYCLES = QUICK ? 1_000 : 3_000
const BATCH = 500
const BATCHES = QUICK ? 10 : 20
const LATENCY_SAMPLES = QUICK ? 50 : 200
const CONCURRENCY = 8
const WIDE = 32
/** Clients of the many-clients figure and consumers of the parked long-poll figure. */
const MANY = 16
const PARKED_ROUNDS = QUICK ? 20 : 60
/** `--only=many,parked` runs only those figures (names: the keys of `result` below). */
const ONLY = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
const body = 'Please implement user authentication with JWT tokens. Requirements: refresh tokens, revocation.'

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
const pause = (ms) => new Promise((r) => setTimeout(r, ms))

const ids = new IdGenerator()
const message = (to = 'builder') =>
  createMessage({ fromAgent: 'architect', toAgent: to, subject: 'Task', body }, { ids })
const workers = Array.from({ length: MANY }, (_, i) => `worker-${i}`)

// --- in-process spool -------------------------------------------------------------------------------

async function spoolFigures(dir) {
  const spool = await Spool.open({ path: join(dir, 'local.db') })
  const cycles = async (count) => {
    const t = now()
    for (let i = 0; i < count; i++) {
      const m = message()
      await spool.send(m)
      const [c] = await spool.claim('builder', { limit: 1 })
      await spool.ack(c.message.id, 'builder', { receipt: c.lease.receipt })
    }
    return count / ((now() - t) / 1000)
  }
  const batched = async () => {
    const t = now()
    for (let b = 0; b < BATCHES; b++) {
      await spool.sendBatch(Array.from({ length: BATCH }, () => ({ message: message('sink') })))
    }
    return (BATCHES * BATCH) / ((now() - t) / 1000)
  }
  const latency = async () => {
    const samples = []
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const waiting = spool.waitForMessages('builder', { timeoutMs: 5_000 })
      await pause(1)
      const t = now()
      await spool.send(message())
      await waiting
      samples.push(now() - t)
      const [c] = await spool.claim('builder', { limit: 1 })
      await spool.ack(c.message.id, 'builder', { receipt: c.lease.receipt })
    }
    return samples
  }
  await cycles(200)
  const result = { cycles: [], batched: [], p50: [], p99: [] }
  for (let r = 0; r < ROUNDS; r++) {
    result.cycles.push(await cycles(CYCLES))
    result.batched.push(await batched())
    const samples = await latency()
    result.p50.push(pct(samples, 50))
    result.p99.push(pct(samples, 99))
  }
  await spool.close()
  return result
}

// --- over HTTP ----------------------------------------------------------------------------------------

async function relayFigures(url, secrets) {
  const client = new RelayClient({ baseUrl: url, secretFor: (id) => secrets[id] })
  const solo = new RelayClient({ baseUrl: url, secretFor: (id) => secrets[id], coalesce: false })
  const other = new RelayClient({ baseUrl: url, secretFor: (id) => secrets[id] })
  /**
   * One message sent, claimed (limit 1) and acked, each by its own call. With several cycles in flight a
   * claim can come back empty when another cycle's claim took this cycle's message first; the cycle then
   * claims again, and every message is still acked exactly once, so the count stays true.
   */
  const cycle = async (via) => {
    const m = message()
    await via.send(m)
    for (;;) {
      const [c] = await via.claim('builder', { limit: 1 })
      if (c === undefined) continue
      await via.ack(c.message.id, 'builder', { receipt: c.lease.receipt })
      return
    }
  }
  const cycles = async (count, concurrency, via = client) => {
    const t = now()
    let left = count
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) await cycle(via)
      }),
    )
    return count / ((now() - t) / 1000)
  }
  const batched = async () => {
    const t = now()
    for (let b = 0; b < BATCHES; b++) {
      await client.sendBatch(Array.from({ length: BATCH }, () => ({ message: message('sink') })))
    }
    return (BATCHES * BATCH) / ((now() - t) / 1000)
  }
  /**
   * Every message still sent on its own, claimed and acked, but as a real consumer does it: one request
   * claims up to 50 (long-polling when the queue is empty) and one acks them all.
   */
  const streamed = async (count) => {
    const t = now()
    let left = count
    const producers = Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await client.send(message())
    })
    let acked = 0
    const consumer = (async () => {
      while (acked < count) {
        const claimed = await client.claim('builder', { limit: 50, waitMs: 1_000 })
        if (claimed.length === 0) continue
        await client.ackBatch(
          'builder',
          claimed.map((c) => ({ messageId: c.message.id, receipt: c.lease.receipt })),
        )
        acked += claimed.length
      }
    })()
    await Promise.all([...producers, consumer])
    return count / ((now() - t) / 1000)
  }
  const latency = async () => {
    const samples = []
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      let arrived = 0
      const waiting = client.claim('builder', { limit: 1, waitMs: 5_000 }).then((claimed) => {
        arrived = now()
        return claimed
      })
      // Let the long poll reach the relay and park; the figure is measured from the send on.
      await pause(3)
      const t = now()
      await other.send(message())
      const [c] = await waiting
      samples.push(arrived - t)
      await client.ack(c.message.id, 'builder', { receipt: c.lease.receipt })
    }
    return samples
  }
  /**
   * MANY clients — separate RelayClients, as separate agent processes would be, one request per call — each
   * running sequential cycles to its own worker agent: the relay's total throughput under independent load.
   */
  const manyClients = Array.from(
    { length: MANY },
    () => new RelayClient({ baseUrl: url, secretFor: (id) => secrets[id], coalesce: false }),
  )
  const many = async (count) => {
    const t = now()
    let left = count
    await Promise.all(
      manyClients.map(async (c, i) => {
        while (left-- > 0) {
          const m = message(workers[i])
          await c.send(m)
          const [claimed] = await c.claim(workers[i], { limit: 1 })
          await c.ack(claimed.message.id, workers[i], { receipt: claimed.lease.receipt })
        }
      }),
    )
    return count / ((now() - t) / 1000)
  }
  /**
   * MANY consumers, each its own client, parked on a long-poll claim; then MANY sends at once (one to
   * each, from one client with every request in flight). Each sample: from the sends' start to one
   * consumer's answer.
   */
  const parked = async () => {
    const samples = []
    for (let r = 0; r < PARKED_ROUNDS; r++) {
      const arrived = []
      const waits = manyClients.map((c, i) =>
        c.claim(workers[i], { limit: 1, waitMs: 5_000 }).then((claimed) => {
          arrived[i] = now()
          return claimed
        }),
      )
      await pause(5)
      const t = now()
      await Promise.all(workers.map((w) => solo.send(message(w))))
      const claimed = await Promise.all(waits)
      for (const a of arrived) samples.push(a - t)
      await Promise.all(
        claimed.map(([c], i) => manyClients[i].ack(c.message.id, workers[i], { receipt: c.lease.receipt })),
      )
    }
    return samples
  }
  const wanted = (name) => ONLY === undefined || ONLY.includes(name)
  // Warm up: connections, JIT, statement caches.
  await cycles(300, CONCURRENCY)
  await cycles(300, CONCURRENCY, solo)
  await many(300)
  const result = {
    sequential: [],
    unshared: [],
    concurrent: [],
    wide: [],
    streamed: [],
    batched: [],
    p50: [],
    p99: [],
    many: [],
    parkedP50: [],
    parkedP99: [],
  }
  for (let r = 0; r < ROUNDS; r++) {
    // The one-client figure the many-clients one is a ratio to is always measured, in the same round.
    result.sequential.push(await cycles(CYCLES / 2, 1))
    if (wanted('unshared')) result.unshared.push(await cycles(CYCLES, CONCURRENCY, solo))
    if (wanted('concurrent')) result.concurrent.push(await cycles(CYCLES, CONCURRENCY))
    if (wanted('wide')) result.wide.push(await cycles(CYCLES, WIDE))
    if (wanted('streamed')) result.streamed.push(await streamed(CYCLES))
    if (wanted('batched')) result.batched.push(await batched())
    if (wanted('latency')) {
      const samples = await latency()
      result.p50.push(pct(samples, 50))
      result.p99.push(pct(samples, 99))
    }
    if (wanted('many')) result.many.push(await many(CYCLES))
    if (wanted('parked')) {
      const samples = await parked()
      result.parkedP50.push(pct(samples, 50))
      result.parkedP99.push(pct(samples, 99))
    }
  }
  for (const c of manyClients) await c.close()
  await client.close()
  await solo.close()
  await other.close()
  return result
}

const dir = mkdtempSync(join(tmpdir(), 'agent-comm-relay-bench-'))
let relay
try {
  const dataDir = join(dir, 'relay')
  const store = await SecretStore.open({ path: SecretStore.fileIn(dataDir) })
  const secrets = {
    architect: (await store.generate('architect')).secret,
    builder: (await store.generate('builder')).secret,
  }
  for (const w of workers) secrets[w] = (await store.generate(w)).secret
  const load = loadavg()[0]
  relay = await startRelayProcess(dataDir, await freePort(), ['--rate-limit', '0'])
  const http = await relayFigures(relay.url, secrets)
  const local = ONLY === undefined ? await spoolFigures(dir) : { cycles: [0] }
  const row = (what, httpValue, localValue, unit, digits = 0) =>
    console.log(
      `${what.padEnd(52)} ${fmt(httpValue, digits).padStart(9)} ${unit.padEnd(10)} in-process spool: ${fmt(localValue, digits).padStart(9)} ${unit}`,
    )
  console.log(
    `\nagent-comm relay benchmark — Node ${process.version}, ${cpus().length} cores, load ${load.toFixed(2)} before the run; medians of ${ROUNDS} rounds`,
  )
  const ran = (xs) => xs.length > 0
  row(
    'send→claim→ack cycles, one client, sequential',
    median(http.sequential),
    median(local.cycles),
    'cycles/s',
  )
  if (ran(http.many)) {
    // Ratios of each round's figures, then their median: the two were measured one after the other.
    const ratios = http.many.map((m, i) => m / http.sequential[i])
    console.log(
      `${`cycles, ${MANY} clients (each sequential), total`.padEnd(52)} ${fmt(median(http.many)).padStart(9)} cycles/s   ${median(ratios).toFixed(2)}× one client (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
    )
  }
  if (ran(http.parkedP50)) {
    console.log(
      `${`long poll, ${MANY} parked, ${MANY} sends at once: p50 / p99`.padEnd(52)} ${fmt(median(http.parkedP50), 2).padStart(9)} / ${fmt(median(http.parkedP99), 2)} ms`,
    )
  }
  if (ONLY !== undefined) console.log(`load after the run: ${loadavg()[0].toFixed(2)}`)
  else {
    row(
      `cycles, one client, ${CONCURRENCY} in flight, one request per call`,
      median(http.unshared),
      median(local.cycles),
      'cycles/s',
    )
    row(
      `send→claim→ack cycles, one client, ${CONCURRENCY} in flight`,
      median(http.concurrent),
      median(local.cycles),
      'cycles/s',
    )
    row(
      `send→claim→ack cycles, one client, ${WIDE} in flight`,
      median(http.wide),
      median(local.cycles),
      'cycles/s',
    )
    row(
      `send ${CONCURRENCY} in flight, claim ≤50 + batch ack, one client`,
      median(http.streamed),
      median(local.cycles),
      'cycles/s',
    )
    row(`batched sends (${BATCH} per request)`, median(http.batched), median(local.batched), 'msgs/s')
    row('long-poll delivery latency p50', median(http.p50), median(local.p50), 'ms', 2)
    row('long-poll delivery latency p99', median(http.p99), median(local.p99), 'ms', 2)
    console.log(`load after the run: ${loadavg()[0].toFixed(2)}`)
  }
} finally {
  relay?.child.kill('SIGTERM')
  await new Promise((r) => (relay === undefined ? r() : relay.child.once('exit', r)))
  rmSync(dir, { recursive: true, force: true })
}
