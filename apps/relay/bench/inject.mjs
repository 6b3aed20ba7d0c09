// The relay's CPU per request without sockets: `node bench/inject.mjs [--n=2000] [--rounds=5]` (from
// apps/relay, after a build). Builds a relay in this process on a temp SQLite file and sends it requests
// with fastify's `inject`, each signed beforehand, so what is timed is the relay's own path — auth, nonce,
// validation, the spool, serialisation, hooks — and not the client or the kernel's loopback. Prints CPU µs
// per send, claim and ack (medians of the rounds). Run it under `node --cpu-prof` to see where they go.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { SecretStore } from '@agent-comm/secrets'
import { Spool } from '@agent-comm/spool'
import { signRequest } from '@agent-comm/transport-http'
import { createRelay, SqliteNonceStore } from '../dist/index.js'

const arg = (name, fallback) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const N = arg('n', 2000)
const ROUNDS = arg('rounds', 5)
const dir = mkdtempSync(join(tmpdir(), 'relay-inject-'))
const spool = await Spool.open({ path: join(dir, 'relay.db') })
const registry = await Registry.open({ spool, releaseHeldTo: 'all-agents' })
const secrets = await SecretStore.open({ path: SecretStore.fileIn(dir) })
const nonces = spool.openShared(SqliteNonceStore.shared())
const secretOf = {}
for (const id of ['architect', 'builder']) secretOf[id] = (await secrets.generate(id)).secret
const app = await createRelay({ spool, registry, secrets, nonces, options: { rateLimit: false } })
await app.ready()
const ids = new IdGenerator()
const signed = (agentId, method, url, body) => {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const headers = signRequest(secretOf[agentId], {
    method,
    path: url,
    ...(payload === undefined ? {} : { body: payload }),
    agentId,
    timestamp: Date.now(),
  })
  return {
    method,
    url,
    headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload }),
  }
}
const body = 'Please implement user authentication with JWT tokens. Requirements: refresh tokens, revocation.'
const cpu = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}
const timed = async (requests) => {
  const answers = []
  const t = cpu()
  for (const r of requests) answers.push(await app.inject(r))
  const us = (cpu() - t) / requests.length
  for (const a of answers) if (a.statusCode >= 300) throw new Error(`${a.statusCode} ${a.body}`)
  return { us, answers }
}
const round = async (n) => {
  const sends = Array.from({ length: n }, () =>
    signed('architect', 'POST', '/api/v1/messages', {
      message: createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body }, { ids }),
    }),
  )
  const send = await timed(sends)
  const claims = Array.from({ length: n }, () =>
    signed('builder', 'POST', '/api/v1/agents/builder/claim', { limit: 1 }),
  )
  const claim = await timed(claims)
  const acks = claim.answers.map((a) => {
    const [c] = a.json().messages
    return signed('builder', 'POST', `/api/v1/agents/builder/messages/${c.message.id}/ack`, {
      receipt: c.lease.receipt,
    })
  })
  const ack = await timed(acks)
  return { send: send.us, claim: claim.us, ack: ack.us }
}
await round(500)
const results = []
for (let r = 0; r < ROUNDS; r++) results.push(await round(N))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const line = (k) => `${k} ${median(results.map((r) => r[k])).toFixed(0)} µs`
console.log(`relay CPU per request (inject, SQLite): ${['send', 'claim', 'ack'].map(line).join(', ')}`)
await app.close()
await nonces.close()
await registry.close()
await spool.close()
rmSync(dir, { recursive: true, force: true })
