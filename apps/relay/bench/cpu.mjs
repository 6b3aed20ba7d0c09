// CPU per cycle of the relay bench's two issue-#15 figures, for comparing builds on a busy machine without
// timing them: `node bench/cpu.mjs [--root=/path/to/other/checkout] [--cycles=N] [--rounds=N]` (after a
// build). It runs exactly what `bench/relay.bench.mjs --only=many,parked` runs — one client's sequential
// cycles, 16 clients each cycling to its own agent, and 16 consumers parked on long polls woken by 16 sends
// at once — against the relay bin and `@agent-comm/transport-http` of `--root` (this checkout by default),
// and prints per cycle the relay's CPU (from /proc, Linux) and this process's (the clients': signing,
// undici, parsing). Several builds in turn: `--root=/work/main --root=../..` (this checkout, from apps/relay) alternates them round by round.
// With `RELAY_COUNTS` and `NODE_OPTIONS=--import …/bench/count-preload.mjs` the relay also counts its
// statements and transactions (see count-preload.mjs).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { freePort, startRelayProcess } from './relay-process.mjs'

const arg = (name, fallback) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const CYCLES = arg('cycles', 1_600)
const ROUNDS = arg('rounds', 3)
const roots = process.argv.filter((a) => a.startsWith('--root=')).map((a) => resolve(a.slice(7)))
if (roots.length === 0) roots.push(resolve(import.meta.dirname, '../../..'))
/** `--only=one,many,parked`: just those workloads (with `RELAY_COUNTS`, one at a time, so counts are per workload). */
const ONLY = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
const wanted = (name) => ONLY === undefined || ONLY.includes(name)
const MANY = 16
const workers = Array.from({ length: MANY }, (_, i) => `worker-${i}`)
const body = 'Please implement user authentication with JWT tokens. Requirements: refresh tokens, revocation.'
/** Warm-up cycles of each workload (connections, JIT, statement caches), not measured. */
const WARM = { one: 300, many: 600, parked: 320 }
const pause = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

async function measure(root) {
  const load = (pkg) => import(pathToFileURL(join(root, 'packages', pkg, 'dist/index.js')).href)
  const { createMessage, IdGenerator } = await load('protocol')
  const { SecretStore } = await load('secrets')
  const { RelayClient } = await load('transport-http')
  const dir = mkdtempSync(join(tmpdir(), 'relay-cpu-'))
  const store = await SecretStore.open({ path: SecretStore.fileIn(join(dir, 'data')) })
  const secrets = {}
  for (const id of ['architect', ...workers]) secrets[id] = (await store.generate(id)).secret
  const { child, url } = await startRelayProcess(
    join(dir, 'data'),
    await freePort(),
    ['--rate-limit', '0'],
    {},
    { bin: join(root, 'apps/relay/dist/bin.js'), RelayClient },
  )
  const ids = new IdGenerator()
  const message = (to) =>
    createMessage({ fromAgent: 'architect', toAgent: to, subject: 'Task', body }, { ids })
  const client = new RelayClient({ baseUrl: url, secretFor: (id) => secrets[id] })
  const solo = new RelayClient({ baseUrl: url, secretFor: (id) => secrets[id], coalesce: false })
  const manyClients = workers.map(
    () => new RelayClient({ baseUrl: url, secretFor: (id) => secrets[id], coalesce: false }),
  )
  const one = async (count) => {
    for (let i = 0; i < count; i++) {
      await client.send(message(workers[0]))
      const [c] = await client.claim(workers[0], { limit: 1 })
      await client.ack(c.message.id, workers[0], { receipt: c.lease.receipt })
    }
  }
  const many = async (count) => {
    let left = count
    await Promise.all(
      manyClients.map(async (c, i) => {
        while (left-- > 0) {
          await c.send(message(workers[i]))
          const [claimed] = await c.claim(workers[i], { limit: 1 })
          await c.ack(claimed.message.id, workers[i], { receipt: claimed.lease.receipt })
        }
      }),
    )
  }
  const parked = async (count) => {
    for (let r = 0; r < count / MANY; r++) {
      const waits = manyClients.map((c, i) => c.claim(workers[i], { limit: 1, waitMs: 5_000 }))
      await pause(5)
      await Promise.all(workers.map((w) => solo.send(message(w))))
      const claimed = await Promise.all(waits)
      await Promise.all(
        claimed.map(([c], i) => manyClients[i].ack(c.message.id, workers[i], { receipt: c.lease.receipt })),
      )
    }
  }
  const relayCpu = () => {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) * 1e4 // µs (clock ticks of 10 ms)
  }
  const clientCpu = () => {
    const u = process.cpuUsage()
    return u.user + u.system
  }
  const cost = async (run, count) => {
    const r = relayCpu()
    const c = clientCpu()
    await run(count)
    return { relay: (relayCpu() - r) / count, client: (clientCpu() - c) / count }
  }
  const none = { relay: Number.NaN, client: Number.NaN }
  if (wanted('one')) await one(WARM.one)
  if (wanted('many')) await many(WARM.many)
  if (wanted('parked')) await parked(WARM.parked)
  const out = {
    one: wanted('one') ? await cost(one, CYCLES / 2) : none,
    many: wanted('many') ? await cost(many, CYCLES) : none,
    parked: wanted('parked') ? await cost(parked, CYCLES) : none,
  }
  for (const c of [client, solo, ...manyClients]) await c.close()
  child.kill('SIGTERM')
  await new Promise((r) => child.once('exit', r))
  rmSync(dir, { recursive: true, force: true })
  return out
}

const results = new Map(roots.map((r) => [r, []]))
for (let round = 0; round < ROUNDS; round++) {
  for (const root of roots) {
    const load = loadavg()[0]
    const r = await measure(root)
    results.get(root).push(r)
    const f = (x) => `relay ${x.relay.toFixed(0).padStart(5)} client ${x.client.toFixed(0).padStart(5)}`
    console.log(
      `${root.padEnd(20)} load ${load.toFixed(1).padStart(4)}  one: ${f(r.one)}  16 clients: ${f(r.many)}  parked: ${f(r.parked)}  µs/cycle`,
    )
  }
}
console.log('\nmedians, µs of CPU per cycle:')
for (const [root, rs] of results) {
  const m = (k, side) =>
    median(rs.map((r) => r[k][side]))
      .toFixed(0)
      .padStart(5)
  console.log(
    `${root.padEnd(20)} one: relay ${m('one', 'relay')} client ${m('one', 'client')}  16 clients: relay ${m('many', 'relay')} client ${m('many', 'client')}  parked: relay ${m('parked', 'relay')} client ${m('parked', 'client')}`,
  )
}
