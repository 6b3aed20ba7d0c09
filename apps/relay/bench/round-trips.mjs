// Round trips per request: `node bench/round-trips.mjs [--db postgres://…]` (from apps/relay, after a build).
// Starts a relay in this process on a fresh PostgreSQL database (or on SQLite with `--sqlite`), counts every
// statement node-postgres sends while one client runs signed send → claim → ack cycles, and prints the
// statements per request by text, so a change to the hot path shows what it saved. `--cpu` prints CPU
// microseconds per cycle (relay and client together: they share this process). `--nonce-commit=durable`
// to compare the PostgreSQL nonce commit modes.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase } from '@agent-comm/postgres/testing'
import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { RelayClient } from '@agent-comm/transport-http'
import { relayConfig, startRelay } from '../dist/index.js'

const CYCLES = Number(process.argv.find((a) => a.startsWith('--cycles='))?.slice(9) ?? 500)
const sqlite = process.argv.includes('--sqlite')
const nonceCommit = process.argv.find((a) => a.startsWith('--nonce-commit='))?.slice(15)
const require = createRequire(import.meta.resolve('@agent-comm/postgres'))
const pg = require('pg')

const counts = new Map()
let counting = false
const original = pg.Client.prototype.query
pg.Client.prototype.query = function (config, values, callback) {
  if (counting) {
    const text = typeof config === 'string' ? config : config.text
    const key = text.replace(/\s+/g, ' ').slice(0, 110)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return original.call(this, config, values, callback)
}

const dir = mkdtempSync(join(tmpdir(), 'relay-round-trips-'))
const db = sqlite ? undefined : await createTestDatabase({ name: 'relay_rt' })
const key = RelaySecretsKey.generate()
const config = relayConfig({
  port: 0,
  host: '127.0.0.1',
  dataDir: dir,
  logLevel: 'warn',
  rateLimitPerMinute: 0,
  ...(db === undefined ? {} : { databaseUrl: db.url, secretsKey: key.toBase64() }),
  ...(nonceCommit === undefined ? {} : { postgresNonceCommit: nonceCommit }),
})
const relay = await startRelay(config)
const secrets = {}
for (const id of ['architect', 'builder']) secrets[id] = (await relay.secrets.generate(id)).secret
const client = new RelayClient({ baseUrl: relay.url, secretFor: (id) => secrets[id], coalesce: false })
const ids = new IdGenerator()
const cycle = async () => {
  const m = createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'x' }, { ids })
  await client.send(m)
  const [c] = await client.claim('builder', { limit: 1 })
  await client.ack(c.message.id, 'builder', { receipt: c.lease.receipt })
}
for (let i = 0; i < 200; i++) await cycle()
counting = true
const cpu = process.cpuUsage()
const t = performance.now()
for (let i = 0; i < CYCLES; i++) await cycle()
const ms = performance.now() - t
const used = process.cpuUsage(cpu)
counting = false
const total = [...counts.values()].reduce((a, b) => a + b, 0)
console.log(
  `${sqlite ? 'SQLite' : `PostgreSQL (nonce commit ${nonceCommit ?? 'default'})`}: ${CYCLES} cycles, ${(CYCLES / (ms / 1000)).toFixed(0)} cycles/s, ` +
    `${((used.user + used.system) / CYCLES).toFixed(0)} µs CPU per cycle (relay + client), ` +
    `${(total / CYCLES).toFixed(2)} statements per cycle (3 requests)`,
)
for (const [text, n] of [...counts].sort((a, b) => b[1] - a[1])) {
  console.log(`${(n / CYCLES).toFixed(2).padStart(6)}  ${text}`)
}
await client.close()
await relay.close()
await db?.drop()
rmSync(dir, { recursive: true, force: true })
