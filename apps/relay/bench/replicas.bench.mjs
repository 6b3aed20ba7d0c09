// Replica benchmark: `pnpm bench:replicas` (from apps/relay, after a build; needs PostgreSQL, and nginx for
// the two-replica figures). In one run, interleaved round by round: the single relay on SQLite, one
// replica on PostgreSQL, and two replicas on PostgreSQL behind nginx on loopback. Each setup runs as
// child processes (the bin, as deployed), driven by one client over keep-alive HTTP, every request signed.
// Figures are medians of the rounds; CPU is the user+system time each process used during the rounds,
// per second of wall time. `--quick` for a short run.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openPostgresRelayStores, RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase } from '@agent-comm/postgres/testing'
import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import { RelayClient } from '@agent-comm/transport-http'
import { freePort, startRelayProcess } from './relay-process.mjs'

const QUICK = process.argv.includes('--quick')
const ROUNDS = QUICK ? 3 : 5
const CYCLES = QUICK ? 500 : 1_500
const BATCH = 500
const BATCHES = QUICK ? 6 : 16
const LATENCY_SAMPLES = QUICK ? 40 : 150
// Cycles in flight for the "one client, 8 in flight" column: one RelayClient (coalescing concurrent calls,
// its default) running 8 send → claim → ack cycles at a time, as the single relay's own benchmark does.
const IN_FLIGHT = 8
const AGENTS = ['architect', 'builder']
const body = 'Please implement user authentication with JWT tokens. Requirements: refresh tokens, revocation.'

const now = () => performance.now()
const pause = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ids = new IdGenerator()
const message = (to = 'builder') =>
  createMessage({ fromAgent: 'architect', toAgent: to, subject: 'Task', body }, { ids })

/** User+system CPU seconds a process has used so far (Linux /proc). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** The first PostgreSQL server backends' CPU is not counted per process here: see the README. */
function startNginx(prefix, upstreams) {
  const nginx = ['/usr/sbin/nginx', 'nginx'].find((bin) => spawnSync(bin, ['-v']).status === 0)
  if (nginx === undefined) return undefined
  mkdirSync(join(prefix, 'logs'), { recursive: true })
  mkdirSync(join(prefix, 'tmp'), { recursive: true })
  const proxyConf = fileURLToPath(new URL('../deploy/nginx/relay-proxy.conf', import.meta.url))
  return freePort().then(async (port) => {
    const conf = join(prefix, 'nginx.conf')
    writeFileSync(
      conf,
      `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  upstream agent_comm_relay {
${upstreams.map((u) => `    server ${new URL(u).host};`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://agent_comm_relay; include ${proxyConf}; }
  }
}
`,
    )
    const child = spawn(nginx, ['-p', prefix, '-c', conf, '-g', 'daemon off;'], { stdio: 'inherit' })
    const url = `http://127.0.0.1:${port}`
    for (let i = 0; i < 400; i++) {
      if (
        (await fetch(`${url}/api/v1/health/live`).then(
          (r) => r.status,
          () => 0,
        )) === 200
      )
        break
      await pause(25)
    }
    return { child, url }
  })
}

/** The figures of one setup: `entry` is the URL the client uses; `wakeVia` the URL a waking send goes to. */
async function figures(entry, parkVia, wakeVia, secrets) {
  const client = new RelayClient({ baseUrl: entry, secretFor: (id) => secrets[id], coalesce: false })
  const shared = new RelayClient({ baseUrl: entry, secretFor: (id) => secrets[id] })
  const parker = new RelayClient({ baseUrl: parkVia, secretFor: (id) => secrets[id], coalesce: false })
  const waker = new RelayClient({ baseUrl: wakeVia, secretFor: (id) => secrets[id], coalesce: false })
  const cycles = async (count) => {
    const t = now()
    for (let i = 0; i < count; i++) {
      const m = message()
      await client.send(m)
      const [c] = await client.claim('builder', { limit: 1 })
      await client.ack(c.message.id, 'builder', { receipt: c.lease.receipt })
    }
    return count / ((now() - t) / 1000)
  }
  /**
   * `count` cycles, IN_FLIGHT at a time, through one coalescing client. A claim can come back empty when
   * another cycle's claim took this cycle's message first; the cycle then claims again, so every message is
   * still acked exactly once and the count stays true.
   */
  const inFlight = async (count) => {
    const t = now()
    let left = count
    const cycle = async () => {
      await shared.send(message())
      for (;;) {
        const [c] = await shared.claim('builder', { limit: 1 })
        if (c === undefined) continue
        await shared.ack(c.message.id, 'builder', { receipt: c.lease.receipt })
        return
      }
    }
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (left-- > 0) await cycle()
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
  const latency = async () => {
    const samples = []
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      let arrived = 0
      const waiting = parker.claim('builder', { limit: 1, waitMs: 10_000 }).then((claimed) => {
        arrived = now()
        return claimed
      })
      // Let the long poll reach its replica and park; measured from the moment the send was answered.
      await pause(5)
      await waker.send(message())
      const answered = now()
      const [c] = await waiting
      samples.push(Math.max(0, arrived - answered))
      await parker.ack(c.message.id, 'builder', { receipt: c.lease.receipt })
    }
    return samples
  }
  return {
    async warm() {
      await cycles(200)
      await inFlight(200)
    },
    async round() {
      return {
        cycles: await cycles(CYCLES),
        inFlight: await inFlight(CYCLES * 2),
        batched: await batched(),
        wake: await latency(),
      }
    },
    async close() {
      await Promise.all([client.close(), shared.close(), parker.close(), waker.close()])
    },
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'relay-replicas-bench-'))
  const db = await createTestDatabase({ name: 'relay_bench' })
  if (db.kind !== 'server')
    throw new Error('This benchmark needs a PostgreSQL server (AGENT_COMM_TEST_PG_URL).')
  const children = []
  try {
    // The single relay on SQLite.
    const store = await SecretStore.open({ path: SecretStore.fileIn(join(dir, 'sqlite')) })
    const secrets = {}
    for (const id of AGENTS) secrets[id] = (await store.generate(id)).secret
    const sqlite = await startRelayProcess(join(dir, 'sqlite'), await freePort(), ['--rate-limit', '0'])
    children.push(sqlite.child)

    // Replicas on PostgreSQL, with the same secrets sealed in the database.
    const key = RelaySecretsKey.generate()
    process.env.AGENT_COMM_RELAY_SECRETS_KEY = key.toBase64()
    const stores = await openPostgresRelayStores({ url: db.url, key })
    for (const id of AGENTS) {
      const issued = await stores.secrets.generate(id)
      secrets[`pg:${id}`] = issued.secret
    }
    await stores.close()
    const pgSecrets = Object.fromEntries(AGENTS.map((id) => [id, secrets[`pg:${id}`]]))
    const pgFlags = ['--db', db.url, '--rate-limit', '0', '--trust-proxy', '127.0.0.1']
    const one = await startRelayProcess(join(dir, 'pg1'), await freePort(), pgFlags)
    const two = await startRelayProcess(join(dir, 'pg2'), await freePort(), pgFlags)
    children.push(one.child, two.child)
    const proxy = await startNginx(join(dir, 'nginx'), [one.url, two.url])
    if (proxy !== undefined) children.push(proxy.child)

    const setups = [
      {
        name: 'SQLite, 1 relay',
        run: await figures(sqlite.url, sqlite.url, sqlite.url, secrets),
        pids: { relay: sqlite.child.pid },
      },
      {
        name: 'PostgreSQL, 1 replica',
        // Its long polls are woken by a send to the same replica (LISTEN/NOTIFY round trip included).
        run: await figures(one.url, one.url, one.url, pgSecrets),
        pids: { replica: one.child.pid },
      },
    ]
    if (proxy !== undefined) {
      setups.push({
        name: 'PostgreSQL, 2 replicas + nginx',
        // Client through nginx; long polls parked on replica 1 and woken by a send to replica 2.
        run: await figures(proxy.url, one.url, two.url, pgSecrets),
        pids: { replica1: one.child.pid, replica2: two.child.pid, nginx: proxy.child.pid },
      })
    }
    for (const setup of setups) await setup.run.warm()
    const results = new Map(
      setups.map((s) => [s.name, { cycles: [], inFlight: [], batched: [], wake: [], cpu: {}, wall: 0 }]),
    )
    for (let r = 0; r < ROUNDS; r++) {
      for (const setup of setups) {
        const result = results.get(setup.name)
        const before = Object.fromEntries(Object.entries(setup.pids).map(([n, pid]) => [n, cpuSeconds(pid)]))
        const benchBefore = process.cpuUsage()
        const t = now()
        const round = await setup.run.round()
        result.wall += (now() - t) / 1000
        const benchCpu = process.cpuUsage(benchBefore)
        for (const [n, pid] of Object.entries(setup.pids)) {
          result.cpu[n] = (result.cpu[n] ?? 0) + cpuSeconds(pid) - before[n]
        }
        result.cpu.client = (result.cpu.client ?? 0) + (benchCpu.user + benchCpu.system) / 1e6
        result.cycles.push(round.cycles)
        result.inFlight.push(round.inFlight)
        result.batched.push(round.batched)
        result.wake.push(...round.wake)
      }
    }
    const base = results.get('SQLite, 1 relay')
    console.log(
      `\nRelay replicas, ${ROUNDS} rounds interleaved; ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
    )
    console.log(
      `| setup | signed cycles/s, one client, one at a time | one client, ${IN_FLIGHT} in flight | batched sends/s | long-poll wake p50 / p99 | CPU per process (s/s) |`,
    )
    console.log('|---|---|---|---|---|---|')
    for (const [name, r] of results) {
      const cycles = median(r.cycles)
      const inFlight = median(r.inFlight)
      const batched = median(r.batched)
      const ratio = (v, b) => (r === base ? '' : ` (${(v / b).toFixed(2)}×)`)
      const cpu = Object.entries(r.cpu)
        .map(([n, s]) => `${n} ${(s / r.wall).toFixed(2)}`)
        .join(', ')
      console.log(
        `| ${name} | ${fmt(cycles)}${ratio(cycles, median(base.cycles))} | ${fmt(inFlight)}${ratio(inFlight, median(base.inFlight))} | ${fmt(batched)}${ratio(batched, median(base.batched))} | ${fmt(pct(r.wake, 50), 2)} / ${fmt(pct(r.wake, 99), 2)} ms | ${cpu} |`,
      )
    }
    for (const setup of setups) await setup.run.close()
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await pause(500)
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
