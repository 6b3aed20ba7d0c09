// Fan-out fairness benchmark: `pnpm bench:fan-out` (from apps/relay, after a build). The relay bin runs as a
// child process on 127.0.0.1 without a rate limit, so one agent can flood it with the largest sends the
// relay admits — 1000 messages × 5 recipients = 5000 deliveries a request (maxDeliveriesPerRequest), two
// in flight, back to back; that is more than an agent at its rate limit can do. Meanwhile another agent
// runs send→claim→ack cycles, one request at a time, and the latency of each of its requests is recorded.
// Target: that agent's p99 stays ≤ 100 ms under the flood. `--quick` for a short run.
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import { RelayClient } from '@agent-comm/transport-http'
import { freePort, startRelayProcess } from './relay-process.mjs'

const QUICK = process.argv.includes('--quick')
const SECONDS = QUICK ? 3 : 10
const FLOOD_MESSAGES = 1000
const FLOOD_RECIPIENTS = ['sink-0', 'sink-1', 'sink-2', 'sink-3', 'sink-4']
const FLOOD_IN_FLIGHT = 2

const ids = new IdGenerator()
const message = (fromAgent, toAgent) =>
  createMessage({ fromAgent, toAgent, subject: 'Task', body: 'fan-out benchmark' }, { ids })
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

/** The victim's send→claim→ack cycles for `seconds`: every request's latency in ms. */
async function victim(client, seconds) {
  const samples = []
  const timed = async (call) => {
    const t = performance.now()
    const result = await call()
    samples.push(performance.now() - t)
    return result
  }
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    await timed(() => client.send(message('builder', 'reviewer')))
    const [claimed] = await timed(() => client.claim('reviewer', { limit: 1 }))
    await timed(() => client.ack(claimed.message.id, 'reviewer', { receipt: claimed.lease.receipt }))
  }
  return samples
}

/**
 * The flooder, in a worker thread so that building and signing its batches does not delay the victim's
 * event loop in this process: the largest admitted batches, `FLOOD_IN_FLIGHT` at a time, until stopped.
 */
async function flood(client, stop) {
  let deliveries = 0
  const lane = async () => {
    while (!stop.stopped) {
      const items = Array.from({ length: FLOOD_MESSAGES }, () => ({
        message: message('architect', '*'),
        recipients: FLOOD_RECIPIENTS,
      }))
      const results = await client.sendBatch(items)
      for (const r of results) deliveries += r.deliveries
    }
  }
  await Promise.all(Array.from({ length: FLOOD_IN_FLIGHT }, lane))
  return deliveries
}

if (!isMainThread) {
  const { url, secret } = workerData
  const client = new RelayClient({ baseUrl: url, secretFor: () => secret, coalesce: false })
  const stop = { stopped: false }
  parentPort.once('message', () => {
    stop.stopped = true
  })
  parentPort.postMessage({ started: true })
  const deliveries = await flood(client, stop)
  await client.close()
  parentPort.postMessage({ deliveries })
} else {
  const dir = mkdtempSync(join(tmpdir(), 'agent-comm-fan-out-bench-'))
  let relay
  try {
    const dataDir = join(dir, 'relay')
    const store = await SecretStore.open({ path: SecretStore.fileIn(dataDir) })
    const secrets = {}
    for (const agent of ['architect', 'builder', 'reviewer'])
      secrets[agent] = (await store.generate(agent)).secret
    const load = loadavg()[0]
    relay = await startRelayProcess(dataDir, await freePort(), ['--rate-limit', '0'])
    const options = { baseUrl: relay.url, secretFor: (id) => secrets[id], coalesce: false }
    const victimClient = new RelayClient(options)
    await victim(victimClient, 1) // warm up
    const quiet = await victim(victimClient, SECONDS)
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { url: relay.url, secret: secrets.architect },
    })
    await once(worker, 'message')
    const loaded = await victim(victimClient, SECONDS)
    worker.postMessage('stop')
    const [{ deliveries: delivered }] = await once(worker, 'message')
    await worker.terminate()
    await victimClient.close()
    console.log(
      `\nagent-comm relay fan-out benchmark — Node ${process.version}, ${cpus().length} cores, load ${load.toFixed(2)} before the run; ${SECONDS} s per phase`,
    )
    const row = (what, samples) =>
      console.log(
        `${what.padEnd(44)} p50 ${pct(samples, 50).toFixed(2).padStart(7)} ms   p99 ${pct(samples, 99).toFixed(2).padStart(7)} ms   max ${Math.max(
          ...samples,
        )
          .toFixed(2)
          .padStart(7)} ms   (${samples.length} requests)`,
      )
    row("other agent's requests, relay idle", quiet)
    row("other agent's requests, under the flood", loaded)
    console.log(
      `flood: ${delivered.toLocaleString('en-US')} deliveries in ${SECONDS} s (${FLOOD_MESSAGES} messages × ${FLOOD_RECIPIENTS.length} recipients a request, ${FLOOD_IN_FLIGHT} in flight)`,
    )
    const p99 = pct(loaded, 99)
    console.log(
      `target p99 ≤ 100 ms under the flood: ${p99 <= 100 ? 'met' : 'NOT met'} (${p99.toFixed(2)} ms)`,
    )
    console.log(`load after the run: ${loadavg()[0].toFixed(2)}`)
  } finally {
    relay?.child.kill('SIGTERM')
    await new Promise((r) => (relay === undefined ? r() : relay.child.once('exit', r)))
    rmSync(dir, { recursive: true, force: true })
  }
}
