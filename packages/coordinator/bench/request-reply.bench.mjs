// Request/reply benchmark: `pnpm bench` runs it after coordinator.bench.mjs (alone: `pnpm bench:request`,
// `--quick` for a shorter run). In one run, in interleaved rounds (so drift in the machine's load touches
// every figure alike), medians over the rounds:
//   - the round trip of `coordinator.request` with the responder in another process on the same SQLite
//     file (targets: p50 <= 5 ms), and with requester and responder each reaching the other through a
//     relay process (p50 <= 20 ms) — p50 and p99 of each round's requests, one request at a time;
//   - `coordinator.send` with an idempotency key (a fresh key per send: bench-0, bench-1, …) against the
//     same sends without one, each on its own database (target: keys cost <= 10 % of the throughput), by
//     wall clock and by this process's CPU time; and, beside them, the same with random (UUID) keys.
//     `--sends-only` runs these alone, in 15 rounds.
//     Beside them, the floor of that cost: the same rows written with raw SQL (better-sqlite3 on the spool's
//     schema and connection settings, one transaction a send, as a send commits), with and without the
//     key's two columns — SQLite's own work for the key (its unique index's entry and pages) and nothing of
//     ours; the coordinator's cost can be read against it.
//     Beside the times, counts that do not move with the machine's load, per side over the whole run: pages
//     written a send (WAL frames and the pages checkpoints copy; bytes written, from /proc/self/io on Linux:
//     each chunk runs alone, so its writes are its side's), write calls a send, and the checkpoints that
//     restarted each side's WAL (its header's checkpoint sequence).
// `--dist <folder>` loads another build of the coordinator (its dist folder, e.g. main's worktree's
// packages/coordinator/dist, which brings that worktree's spool): run it and this build alternately to
// compare them.
// The relay is the workspace's own bin (apps/relay/dist/bin.js): build it first.
import { fork, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { IdGenerator } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import { openConnection, Spool } from '@agent-comm/spool'
import { HttpTransport, RelayClient } from '@agent-comm/transport-http'

const distFlag = process.argv.indexOf('--dist')
const DIST =
  distFlag === -1 ? fileURLToPath(new URL('../dist', import.meta.url)) : resolve(process.argv[distFlag + 1])
const { createCoordinator, loadConfig } = await import(pathToFileURL(join(DIST, 'index.js')).href)

const QUICK = process.argv.includes('--quick')
// Only the sends with and without a key, in more rounds: the figure to take on a busy machine.
const SENDS_ONLY = process.argv.includes('--sends-only')
const ROUNDS = QUICK ? 3 : SENDS_ONLY ? 15 : 7
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
/** This process's write calls and bytes written so far (Linux), or undefined where /proc/self/io is not readable. */
function ioCounts() {
  try {
    const fields = Object.fromEntries(
      readFileSync('/proc/self/io', 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(': ')),
    )
    return { calls: Number(fields.syscw), bytes: Number(fields.wchar) }
  } catch {
    return undefined
  }
}

/** The checkpoint sequence in the header of a database's -wal file (SQLite counts its restarts there), or 0. */
function walCheckpoints(dbPath) {
  let fd
  try {
    fd = openSync(`${dbPath}-wal`, 'r')
    const header = Buffer.alloc(16)
    return readSync(fd, header, 0, 16, 0) === 16 ? header.readUInt32BE(12) : 0
  } catch {
    return 0
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

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

/**
 * `count` sends, with a fresh idempotency key each when `keys` says how to make one (`counter`: bench-0,
 * bench-1, …; `random`: a UUID); the time they took in ms, wall clock and this process's CPU time (user +
 * system: on a shared machine, waiting for a core shows in the first only).
 */
function sends(coord, keys) {
  let n = 0
  const key = { counter: () => `bench-${n++}`, random: () => randomUUID() }[keys]
  return async (count) => {
    const t = now()
    const cpu = process.cpuUsage()
    for (let i = 0; i < count; i++) {
      await coord.send(
        { fromAgent: 'architect', toAgent: 'sink', body },
        key === undefined ? {} : { idempotencyKey: key() },
      )
    }
    const used = process.cpuUsage(cpu)
    return { wall: now() - t, cpu: (used.user + used.system) / 1000 }
  }
}

/**
 * The raw-SQL floor of a send with and without a key (`keys` as in {@link sends}): the message and delivery
 * rows a `coordinator.send` to one agent writes, in one transaction a send, by hand-written better-sqlite3
 * on the spool's own schema and connection settings (`openConnection`). Both sides run the same statement —
 * the keyed insert's form, `ON CONFLICT` on the key's unique index — the plain side with the key NULL, which
 * the partial index leaves out: the difference is SQLite's own work for the key.
 */
async function rawSends(name, keys) {
  const path = join(dir, `${name}.db`)
  await (await Spool.open({ path })).close()
  const db = openConnection(path)
  const insertMessage = db.prepare(`INSERT INTO messages (id, from_agent, to_agent, subject, body, priority,
      conversation_id, reply_to, ttl_hours, payload, metadata, created_at, expires_at, idempotency_key,
      idempotency_expires_at)
    VALUES (?, 'architect', 'sink', '', ?, 2, ?, NULL, 24, NULL, NULL, ?, ?, ?, ?)
    ON CONFLICT (from_agent, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`)
  const insertDelivery = db.prepare(`INSERT INTO deliveries (message_seq, recipient, status, priority,
      attempt, max_attempts, available_at, expires_at, created_at, updated_at)
    VALUES (?, 'sink', 'queued', 2, 0, 3, ?, ?, ?, ?)`)
  const ids = new IdGenerator()
  let n = 0
  const key = { counter: () => `bench-${n++}`, random: () => randomUUID() }[keys]
  const send = db.transaction((at) => {
    const k = key === undefined ? null : key()
    const { lastInsertRowid } = insertMessage.run(
      ids.next('msg'),
      body,
      ids.next('conv'),
      at,
      at + 86_400_000,
      k,
      k === null ? null : at + 86_400_000,
    )
    insertDelivery.run(lastInsertRowid, at, at + 86_400_000, at, at)
  })
  const run = async (count) => {
    const t = now()
    const cpu = process.cpuUsage()
    for (let i = 0; i < count; i++) send.immediate(Date.now())
    const used = process.cpuUsage(cpu)
    return { wall: now() - t, cpu: (used.user + used.system) / 1000 }
  }
  return { run, path, close: () => db.close() }
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
    `agent-comm request/reply benchmark — node ${process.version}, ${QUICK ? 'quick' : 'full'}${SENDS_ONLY ? ' sends-only' : ''} run, medians of ${ROUNDS} interleaved rounds, load average ${fmt(load1, 1)} at the start\n\n`,
  )
  const local = SENDS_ONLY ? undefined : await localSetup()
  const viaRelay = SENDS_ONLY ? undefined : await relaySetup()
  const requesters = SENDS_ONLY ? [] : [local, viaRelay]
  process.stdout.write(`coordinator build: ${DIST}\n\n`)
  const plain = await sendSetup('plain')
  const keyed = await sendSetup('keyed')
  const uuidKeyed = await sendSetup('uuid-keyed')
  const rawPlain = await rawSends('raw-plain')
  const rawKeyed = await rawSends('raw-keyed', 'counter')
  const rawUuid = await rawSends('raw-uuid', 'random')
  const sendRuns = {
    plain: sends(plain),
    keyed: sends(keyed, 'counter'),
    uuid: sends(uuidKeyed, 'random'),
    rawPlain: rawPlain.run,
    rawKeyed: rawKeyed.run,
    rawUuid: rawUuid.run,
  }
  // Warm-up: JIT, connections, the relay's caches.
  for (let i = 0; i < 20; i++) for (const coord of requesters) await roundTrip(coord)
  for (const run of Object.values(sendRuns)) await run(100)
  const p = { local: { p50: [], p99: [] }, relay: { p50: [], p99: [] } }
  const SIDES = ['plain', 'keyed', 'uuid', 'rawPlain', 'rawKeyed', 'rawUuid']
  const perSide = (make) => Object.fromEntries(SIDES.map((name) => [name, make()]))
  // Whole-run wall time per side: every checkpoint counted once, wherever it landed (the rounds' medians can
  // leave out the few rounds a large checkpoint lands in).
  const wallTotal = perSide(() => 0)
  // Counted beside the times, over the whole run (see the header): write calls and bytes, WAL restarts.
  const writes = perSide(() => ({ calls: 0, bytes: 0 }))
  const dbOf = (name) =>
    ({ rawPlain: rawPlain.path, rawKeyed: rawKeyed.path, rawUuid: rawUuid.path })[name] ??
    join(dir, { plain: 'plain', keyed: 'keyed', uuid: 'uuid-keyed' }[name], 'data', 'coordination.db')
  const checkpointsAtStart = Object.fromEntries(SIDES.map((name) => [name, walCheckpoints(dbOf(name))]))
  const rates = perSide(() => [])
  const cpuRates = perSide(() => [])
  // Interleaved finely, so a burst of load elsewhere on the machine touches both sides of each comparison:
  // requests go in blocks of 25 back to back, local and relay alternating (one request each, alternating,
  // measured a local p50 about 7x higher at load 17-25: each side's processes were idle, descheduled, when
  // its turn came), and sends in chunks of 50, plain, keyed and UUID-keyed rotating (the coordinator's and raw SQL's).
  for (let r = 0; r < ROUNDS; r++) {
    const latencies = { local: [], relay: [] }
    for (let block = 0; block < (SENDS_ONLY ? 0 : REQUESTS / 25); block++) {
      for (const [name, coord] of [
        ['local', local],
        ['relay', viaRelay],
      ]) {
        for (let i = 0; i < 25; i++) latencies[name].push(await roundTrip(coord))
      }
    }
    for (const name of SENDS_ONLY ? [] : ['local', 'relay']) {
      p[name].p50.push(percentile(latencies[name], 0.5))
      p[name].p99.push(percentile(latencies[name], 0.99))
    }
    const spent = perSide(() => 0)
    const cpuSpent = perSide(() => 0)
    // The coordinator's three sides rotate among themselves, then raw SQL's: each side's chunks follow one
    // another as closely as when the bench had no raw sides (more sides between two chunks of one database
    // leave its WAL's syncs in the thread pool more time to finish, which flatters the side that writes more).
    for (const group of [SIDES.slice(0, 3), SIDES.slice(3)]) {
      for (let chunk = 0; chunk < SENDS / 50; chunk++) {
        const order = group.map((_, i) => group[(i + chunk) % group.length])
        for (const name of order) {
          const before = ioCounts()
          const { wall, cpu } = await sendRuns[name](50)
          const after = ioCounts()
          if (before !== undefined && after !== undefined) {
            writes[name].calls += after.calls - before.calls
            writes[name].bytes += after.bytes - before.bytes
          }
          spent[name] += wall
          cpuSpent[name] += cpu
        }
      }
    }
    for (const name of SIDES) {
      rates[name].push(SENDS / (spent[name] / 1000))
      cpuRates[name].push(SENDS / (cpuSpent[name] / 1000))
      wallTotal[name] += spent[name]
    }
  }
  const range = (xs, digits = 1) => `${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}`
  const cost = (ratio) => `cost ${fmt((1 - ratio) * 100, 1)} %`
  /** The sends with a key against those without, by `per` (rates or cpuRates): the median of the rounds. */
  const keyedAgainst = (per, base, name) => ({
    ratio: median(per[name]) / median(per[base]),
    rounds: range(
      per[name].map((k, i) => k / per[base][i]),
      2,
    ),
  })
  const sidesOf = {
    coordinator: { plain: 'plain', keyed: 'keyed', uuid: 'uuid', what: 'coordinator.send' },
    raw: { plain: 'rawPlain', keyed: 'rawKeyed', uuid: 'rawUuid', what: 'raw SQL send (the floor)' },
  }
  const byWall = {}
  for (const [layer, side] of Object.entries(sidesOf)) {
    const plainRate = median(rates[side.plain])
    report(
      `${layer === 'raw' ? '' : 'baseline: '}${side.what} without a key`,
      `${fmt(plainRate)} sends/s`,
      '1.00x',
    )
    for (const [name, label, target] of [
      [side.keyed, `${side.what} with an idempotency key`, layer === 'raw' ? '' : '; target <= 10 %'],
      [side.uuid, '  the same with random (UUID) keys', ''],
    ]) {
      const { ratio, rounds } = keyedAgainst(rates, side.plain, name)
      if (name === side.keyed) byWall[layer] = { median: ratio }
      report(
        label,
        `${fmt(median(rates[name]))} sends/s`,
        `${fmt(ratio, 2)}x (rounds ${rounds}x)`,
        `${cost(ratio)}${target}`,
      )
    }
    const whole = (name) => wallTotal[side.plain] / wallTotal[name]
    byWall[layer].whole = whole(side.keyed)
    report(
      '  keyed vs plain over the whole run (total time)',
      '',
      `${fmt(whole(side.keyed), 2)}x`,
      `${cost(whole(side.keyed))} (UUID keys ${fmt((1 - whole(side.uuid)) * 100, 1)} %)`,
    )
  }
  // Against the floor, in points of cost: above 0, the coordinator adds to what SQLite's key costs anyway.
  const points = (layer) => (1 - byWall[layer].median) * 100
  const wholePoints = (layer) => (1 - byWall[layer].whole) * 100
  report(
    "key cost, the coordinator's minus raw SQL's",
    '',
    `${fmt(points('coordinator') - points('raw'), 1)} points`,
    `whole run ${fmt(wholePoints('coordinator') - wholePoints('raw'), 1)} points`,
  )
  if (ioCounts() !== undefined) {
    // Pages written a send: the bytes over a WAL frame's size (a page, its size read from a -wal header, and
    // the frame's 24-byte header), so WAL frames plus the pages checkpoints copy into the database file.
    const walHeader = readFileSync(`${dbOf('plain')}-wal`).subarray(0, 16)
    const frameBytes = walHeader.readUInt32BE(8) + 24
    const total = SENDS * ROUNDS
    const labels = {
      plain: 'without a key',
      keyed: 'with a key',
      uuid: 'with a UUID key',
      rawPlain: 'raw SQL, without a key',
      rawKeyed: 'raw SQL, with a key',
      rawUuid: 'raw SQL, with a UUID key',
    }
    for (const name of SIDES) {
      const checkpoints = walCheckpoints(dbOf(name)) - checkpointsAtStart[name]
      report(
        `  counted, ${labels[name]}`,
        `${fmt(writes[name].bytes / frameBytes / total, 2)} pages/send`,
        `${fmt(writes[name].calls / total, 2)} writes/send`,
        `${checkpoints} WAL checkpoints`,
      )
    }
  }
  // The same sends by CPU time (sends per CPU second): what a busy machine's queue does not move.
  for (const [layer, side] of Object.entries(sidesOf)) {
    const cpuPlain = median(cpuRates[side.plain])
    report(`CPU time: ${side.what} without a key`, `${fmt(1e6 / cpuPlain, 1)} µs/send`, '1.00x')
    for (const [name, label] of [
      [side.keyed, `CPU time: ${layer === 'raw' ? 'raw SQL' : 'send'} with an idempotency key`],
      [side.uuid, '  the same with random (UUID) keys'],
    ]) {
      const { ratio, rounds } = keyedAgainst(cpuRates, side.plain, name)
      report(
        label,
        `${fmt(1e6 / median(cpuRates[name]), 1)} µs/send`,
        `${fmt(ratio, 2)}x (rounds ${rounds}x)`,
        cost(ratio),
      )
    }
  }
  for (const [name, label, target] of SENDS_ONLY
    ? []
    : [
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
  for (const coord of [...requesters, plain, keyed, uuidKeyed]) await coord.close()
  for (const raw of [rawPlain, rawKeyed, rawUuid]) raw.close()
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
