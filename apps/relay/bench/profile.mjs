// CPU profile of the relay process under single-client signed cycles: `node bench/profile.mjs [--pg]
// [--cycles=N] [--clients=N]` (from apps/relay, after a build). Starts the relay bin with `--cpu-prof`, runs
// send → claim → ack cycles from this process, stops the relay, and prints the relay's CPU per cycle and the
// functions with the most self time (by file), so the cost of each layer of the request path is visible.
// With `--parked`, a cycle is one of 16 long polls woken by one of 16 sends at once, and its ack. The client
// side's CPU per cycle (this process: RelayClient signing, undici, parsing) is printed beside the relay's.
// The .cpuprofile is kept (its path is printed) for a flame graph in Chrome DevTools.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { openPostgresRelayStores, RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase } from '@agent-comm/postgres/testing'
import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import { RelayClient } from '@agent-comm/transport-http'
import { freePort, startRelayProcess } from './relay-process.mjs'

const arg = (name, fallback) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const CYCLES = arg('cycles', 3000)
const CLIENTS = arg('clients', 1)
const pg = process.argv.includes('--pg')
/** `--parked`: instead of cycles, 16 consumers parked on long polls woken by 16 sends at once, repeatedly. */
const PARKED = process.argv.includes('--parked')
const workers = Array.from({ length: 16 }, (_, i) => `worker-${i}`)
const AGENTS = ['architect', 'builder', ...workers]
const dir = mkdtempSync(join(tmpdir(), 'relay-profile-'))
const profDir = join(dir, 'prof')
const secrets = {}
let flags = ['--rate-limit', '0']
let db
if (pg) {
  db = await createTestDatabase({ name: 'relay_prof' })
  const key = RelaySecretsKey.generate()
  process.env.AGENT_COMM_RELAY_SECRETS_KEY = key.toBase64()
  const stores = await openPostgresRelayStores({ url: db.url, key })
  for (const id of AGENTS) secrets[id] = (await stores.secrets.generate(id)).secret
  await stores.close()
  flags = [...flags, '--db', db.url]
} else {
  const store = await SecretStore.open({ path: SecretStore.fileIn(join(dir, 'data')) })
  for (const id of AGENTS) secrets[id] = (await store.generate(id)).secret
}
/** `--no-prof`: only the CPU figure, without the profiler's own cost. */
const PROFILE = !process.argv.includes('--no-prof')
if (PROFILE) process.env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${profDir}`
const relay = await startRelayProcess(join(dir, 'data'), await freePort(), flags)
delete process.env.NODE_OPTIONS
const clients = Array.from(
  { length: CLIENTS },
  () => new RelayClient({ baseUrl: relay.url, secretFor: (id) => secrets[id], coalesce: false }),
)
const ids = new IdGenerator()
const cycle = async (client) => {
  const m = createMessage(
    { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'x'.repeat(100) },
    { ids },
  )
  await client.send(m)
  for (;;) {
    const [c] = await client.claim('builder', { limit: 1 })
    if (c === undefined) continue
    await client.ack(c.message.id, 'builder', { receipt: c.lease.receipt })
    return
  }
}
const consumers = PARKED
  ? workers.map(
      () => new RelayClient({ baseUrl: relay.url, secretFor: (id) => secrets[id], coalesce: false }),
    )
  : []
const parkedRound = async () => {
  const waits = consumers.map((c, i) => c.claim(workers[i], { limit: 1, waitMs: 5_000 }))
  await new Promise((r) => setTimeout(r, 5))
  await Promise.all(
    workers.map((w) =>
      clients[0].send(
        createMessage({ fromAgent: 'architect', toAgent: w, subject: 'Task', body: 'x' }, { ids }),
      ),
    ),
  )
  const claimed = await Promise.all(waits)
  await Promise.all(
    claimed.map(([c], i) => consumers[i].ack(c.message.id, workers[i], { receipt: c.lease.receipt })),
  )
}
const run = async (count) => {
  if (PARKED) {
    for (let i = 0; i < count / 16; i++) await parkedRound()
    return
  }
  let left = count
  await Promise.all(
    clients.map(async (c) => {
      while (left-- > 0) await cycle(c)
    }),
  )
}
await run(300)
const cpu = () => {
  const f = readFileSync(`/proc/${relay.child.pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
const before = cpu()
const clientBefore = process.cpuUsage()
const t = performance.now()
await run(CYCLES)
const seconds = (performance.now() - t) / 1000
const used = cpu() - before
const clientUsage = process.cpuUsage(clientBefore)
const clientUs = (clientUsage.user + clientUsage.system) / CYCLES
console.log(
  `${pg ? 'PostgreSQL' : 'SQLite'}, ${CLIENTS} client(s): ${(CYCLES / seconds).toFixed(0)} cycles/s, relay CPU ${((used / CYCLES) * 1e6).toFixed(0)} µs per cycle (${(used / seconds).toFixed(2)} s/s), client CPU ${clientUs.toFixed(0)} µs per cycle (this process, load ${loadavg()[0].toFixed(1)})`,
)
for (const c of [...clients, ...consumers]) await c.close()
relay.child.kill('SIGTERM')
await new Promise((r) => relay.child.once('exit', r))
await db?.drop()
if (!PROFILE) process.exit(0)
const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8'))
const self = new Map()
const dt = profile.timeDeltas
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const hits = new Map()
for (let i = 0; i < profile.samples.length; i++)
  hits.set(profile.samples[i], (hits.get(profile.samples[i]) ?? 0) + (dt[i] ?? 0))
let total = 0
for (const [id, us] of hits) {
  const { callFrame } = byId.get(id)
  const where = callFrame.url
    .replace(/^.*node_modules\/\.pnpm\/([^/]+)\/.*$/, '$1')
    .replace(/^.*\/(packages|apps)\//, '$1/')
  const key = `${callFrame.functionName || '(anonymous)'} ${where}:${callFrame.lineNumber + 1}`
  self.set(key, (self.get(key) ?? 0) + us)
  total += us
}
const byFile = new Map()
for (const [key, us] of self) {
  const file = key.split(' ').slice(1).join(' ').replace(/:\d+$/, '') || '(native)'
  byFile.set(file, (byFile.get(file) ?? 0) + us)
}
console.log(`\nprofile: ${join(profDir, file)}\nself time by file/package (% of samples):`)
for (const [f, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${f}`)
console.log('\nself time by function:')
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40))
  console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
