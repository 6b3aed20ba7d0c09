// Request/reply benchmark: `pnpm bench` runs it after coordinator.bench.mjs (alone: `pnpm bench:request`,
// `--quick` for a shorter run). In one run, in interleaved rounds (so drift in the machine's load touches
// every figure alike), medians over the rounds:
//   - the round trip of `coordinator.request` with the responder in another process on the same SQLite
//     file (targets: p50 <= 5 ms), and with requester and responder each reaching the other through a
//     relay process (p50 <= 20 ms) — p50 and p99 of each round's requests, one request at a time;
//   - `coordinator.send` with an idempotency key (a fresh key per send) against the same sends without
//     one, each on its own database (target: keys cost <= 10 % of the throughput).
// The relay is the workspace's own bin (apps/relay/dist/bin.js): build it first.
import { fork, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SecretStore } from '@agent-comm/secrets'
import { HttpTransport, RelayClient } from '@agent-comm/transport-http'
import { createCoordinator, loadConfig } from '../dist/index.js'

const QUICK = process.argv.includes('--quick')
const ROUNDS = QUICK ? 3 : 7
const REQUESTS = QUICK ? 50 : 200
const SENDS = QUICK ? 300 : 1_000
const RELAY_BIN = fileURLToPath(new URL('../../../apps/relay/dist/bin.js', import.meta.url))
const RESPONDER = fileURLToPath(new URL('./responder.mjs', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'agent-comm-request-bench-'))
const now = () => performance.now()
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]
}
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const body = 'Please implement user authentication with JWT tokens. Requirements: refresh tokens, revocation.'
const children = []

/** Starts bench/responder.mjs and waits until its loop runs. */
async function startResponder(root, relayUrl, env = {}) {
  const child = fork(RESPONDER, relayUrl === undefined ? [root] : [root, relayUrl], {
    env: { PATH: process.env.PATH ?? '', ...env },
  })
  children.push(child)
  await new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', (code) => reject(new Error(`the responder exited with ${code} before it was ready`)))
  })
  return child
}

/** Starts the relay bin on a free port over `dataDir`; resolves with its URL once it listens. */
async function startRelay(dataDir) {
  if (!existsSync(RELAY_BIN)) {
    throw new Error(`${RELAY_BIN} is missing: build the relay first (pnpm --filter @agent-comm/relay build)`)
  }
  const child = spawn(
    process.execPath,
    [RELAY_BIN, '--port', '0', '--data-dir', dataDir, '--rate-limit', '0', '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '' } },
  )
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk
      for (const line of out.split('\n')) {
        if (line.includes('"relay listening"')) resolve(JSON.parse(line).url)
      }
    })
    child.once('exit', (code) => reject(new Error(`the relay exited with ${code} before listening`)))
  })
}

/** One request, waited for; its latency in ms. */
async function roundTrip(coord) {
  const t = now()
  await coord.request({ fromAgent: 'architect', toAgent: 'builder', body }, { timeoutMs: 60_000 })
  return now() - t
}

/** `count` sends, with a fresh idempotency key each when `keyed`; the time they took in ms. */
function sends(coord, keyed) {
  let n = 0
  return async (count) => {
    const t = now()
    for (let i = 0; i < count; i++) {
      await coord.send(
        { fromAgent: 'architect', toAgent: 'sink', body },
        keyed ? { idempotencyKey: `bench-${n++}` } : {},
      )
    }
    return now() - t
  }
}

async function localSetup() {
  const root = join(dir, 'local')
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: root }))
  for (const agentId of ['architect', 'builder']) await coord.register({ agentId })
  await startResponder(root)
  return coord
}

async function relaySetup() {
  const dataDir = join(dir, 'relay')
  const store = await SecretStore.open({ path: SecretStore.fileIn(dataDir) })
  const secrets = {
    architect: (await store.generate('architect')).secret,
    builder: (await store.generate('builder')).secret,
  }
  const relayUrl = await startRelay(dataDir)
  const client = new RelayClient({ baseUrl: relayUrl, secretFor: (id) => secrets[id] })
  for (const agentId of ['architect', 'builder']) await client.register({ agentId })
  await client.close()
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: join(dir, 'requester') }), {
    http: () =>
      new HttpTransport({ baseUrl: relayUrl, secretFor: (id) => secrets[id], identity: 'architect' }),
  })
  for (const agentId of ['architect', 'builder'])
    await coord.register({ agentId, transport: 'http', relayUrl })
  await startResponder(join(dir, 'responder'), relayUrl, { AGENT_COMM_SECRET_BUILDER: secrets.builder })
  return coord
}

async function sendSetup(name) {
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: join(dir, name) }))
  for (const agentId of ['architect', 'sink']) await coord.register({ agentId })
  return coord
}

const report = (label, figure, ratio, target = '') =>
  process.stdout.write(`${label.padEnd(52)} ${figure.padStart(24)}   ${ratio.padEnd(28)} ${target}\n`)

try {
  const [load1] = loadavg()
  process.stdout.write(
    `agent-comm request/reply benchmark — node ${process.version}, ${QUICK ? 'quick' : 'full'} run, medians of ${ROUNDS} interleaved rounds, load average ${fmt(load1, 1)} at the start\n\n`,
  )
  const local = await localSetup()
  const viaRelay = await relaySetup()
  const plain = await sendSetup('plain')
  const keyed = await sendSetup('keyed')
  const sendRuns = { plain: sends(plain, false), keyed: sends(keyed, true) }
  // Warm-up: JIT, connections, the relay's caches.
  for (let i = 0; i < 20; i++) for (const coord of [local, viaRelay]) await roundTrip(coord)
  for (const run of Object.values(sendRuns)) await run(100)
  const p = { local: { p50: [], p99: [] }, relay: { p50: [], p99: [] } }
  const rates = { plain: [], keyed: [] }
  // Interleaved finely, so a burst of load elsewhere on the machine touches both sides of each comparison:
  // requests go in blocks of 25 back to back, local and relay alternating (one request each, alternating,
  // measured a local p50 about 7x higher at load 17-25: each side's processes were idle, descheduled, when
  // its turn came), and sends in chunks of 50, plain and keyed alternating.
  for (let r = 0; r < ROUNDS; r++) {
    const latencies = { local: [], relay: [] }
    for (let block = 0; block < REQUESTS / 25; block++) {
      for (const [name, coord] of [
        ['local', local],
        ['relay', viaRelay],
      ]) {
        for (let i = 0; i < 25; i++) latencies[name].push(await roundTrip(coord))
      }
    }
    for (const name of ['local', 'relay']) {
      p[name].p50.push(percentile(latencies[name], 0.5))
      p[name].p99.push(percentile(latencies[name], 0.99))
    }
    const spent = { plain: 0, keyed: 0 }
    for (let chunk = 0; chunk < SENDS / 50; chunk++) {
      const order = chunk % 2 === 0 ? ['plain', 'keyed'] : ['keyed', 'plain']
      for (const name of order) spent[name] += await sendRuns[name](50)
    }
    for (const name of ['plain', 'keyed']) rates[name].push(SENDS / (spent[name] / 1000))
  }
  const range = (xs, digits = 1) => `${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}`
  const plainRate = median(rates.plain)
  const keyedRate = median(rates.keyed)
  const perRound = rates.keyed.map((k, i) => k / rates.plain[i])
  report('baseline: coordinator.send without a key', `${fmt(plainRate)} sends/s`, '1.00x')
  report(
    'coordinator.send with an idempotency key',
    `${fmt(keyedRate)} sends/s`,
    `${fmt(keyedRate / plainRate, 2)}x (rounds ${range(perRound, 2)}x)`,
    `cost ${fmt((1 - keyedRate / plainRate) * 100, 1)} %; target <= 10 %`,
  )
  for (const [name, label, target] of [
    ['local', 'request round trip, responder process, SQLite', 'target p50 <= 5 ms'],
    ['relay', 'request round trip through a relay process', 'target p50 <= 20 ms'],
  ]) {
    report(
      label,
      `p50 ${fmt(median(p[name].p50), 2)} ms, p99 ${fmt(median(p[name].p99), 1)} ms`,
      `p50 rounds ${range(p[name].p50, 2)} ms`,
      target,
    )
  }
  process.stdout.write(
    `\nload average ${loadavg()
      .map((l) => fmt(l, 1))
      .join(', ')} at the end\n`,
  )
  for (const coord of [local, viaRelay, plain, keyed]) await coord.close()
} finally {
  const ended = (child) =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', resolve)
    })
  // The responders first (one of them long-polls the relay), then the relay.
  const responders = children.filter((child) => child.connected)
  for (const child of responders) child.send('stop')
  await Promise.all(responders.map(ended))
  for (const child of children) if (!responders.includes(child)) child.kill('SIGTERM')
  await Promise.all(children.map(ended))
  rmSync(dir, { recursive: true, force: true })
}
