// Bridge throughput: a FunctionBridge echo agent answers N messages (reply + ack each), beside a hand-written
// poll/reply/ack loop on the same coordinator settings in the same run. `pnpm bench` or `node bench/bridge.bench.mjs`.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCoordinator, loadConfig } from '@agent-comm/coordinator'
import { Spool } from '@agent-comm/spool'
import { BridgeRunner, FunctionBridge } from '../dist/index.js'

const N = process.argv.includes('--quick') ? 2_000 : 5_000
const ROUNDS = 3
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (n) => Math.round(n).toLocaleString('en-US')

async function fresh() {
  const root = mkdtempSync(join(tmpdir(), 'agent-comm-bridge-bench-'))
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: root }))
  await coord.register({ agentId: 'architect' })
  await coord.register({ agentId: 'builder' })
  // Loaded in one transaction straight into the coordinator's database, as a backlog would be.
  const spool = await Spool.open({ path: coord.storage.path })
  await spool.sendBatch(
    Array.from({ length: N }, (_, i) => ({
      message: { fromAgent: 'architect', toAgent: 'builder', body: `task ${i}` },
    })),
  )
  await spool.close()
  return {
    coord,
    done: async () => {
      await coord.close()
      rmSync(root, { recursive: true, force: true })
    },
  }
}

async function bridged(concurrency) {
  const { coord, done } = await fresh()
  const runner = new BridgeRunner({
    coordinator: coord,
    agent: 'builder',
    bridge: new FunctionBridge((m) => m.body),
    maxMessages: 100,
    concurrency,
  })
  const t = performance.now()
  let total = 0
  for (;;) {
    const { processed } = await runner.run({ once: true })
    if (processed === 0) break
    total += processed
  }
  const rate = total / ((performance.now() - t) / 1000)
  await done()
  return rate
}

async function handWritten() {
  const { coord, done } = await fresh()
  const t = performance.now()
  let total = 0
  for (;;) {
    const batch = await coord.poll('builder', { limit: 100 })
    if (batch.length === 0) break
    for (const msg of batch) {
      await coord.reply(msg, { body: msg.message.body })
      await coord.ack(msg)
    }
    total += batch.length
  }
  const rate = total / ((performance.now() - t) / 1000)
  await done()
  return rate
}

const loop = []
const one = []
const four = []
for (let r = 0; r < ROUNDS; r++) {
  loop.push(await handWritten())
  one.push(await bridged(1))
  four.push(await bridged(4))
}
const base = median(loop)
process.stdout.write(
  `agent-comm bridge benchmark — node ${process.version}, ${fmt(N)} messages, medians of ${ROUNDS} rounds\n\n`,
)
process.stdout.write(`hand-written poll/reply/ack loop        ${fmt(base).padStart(8)} msgs/s   1.00x\n`)
process.stdout.write(
  `BridgeRunner + FunctionBridge, conc. 1  ${fmt(median(one)).padStart(8)} msgs/s   ${(median(one) / base).toFixed(2)}x\n`,
)
process.stdout.write(
  `BridgeRunner + FunctionBridge, conc. 4  ${fmt(median(four)).padStart(8)} msgs/s   ${(median(four) / base).toFixed(2)}x\n`,
)
