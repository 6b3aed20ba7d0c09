// Registry benchmark: `pnpm bench` (from the repo root or packages/registry). Times the calls the
// coordinator makes per message (require, touch) and the lookups behind capability routing, on a spool
// database holding 1,000 agents. Figures are medians of several rounds, in microseconds per call.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { Registry } from '../dist/index.js'

const AGENTS = 1000
const ROUNDS = 5
const dir = mkdtempSync(join(tmpdir(), 'agent-comm-registry-bench-'))
const clock = new ManualClock()
const spool = await Spool.open({ path: join(dir, 'coordination.db'), clock })
const registry = await Registry.open({ spool, clock })

const agent = (i) => ({
  agentId: `agent-${i}`,
  capabilities: [`lang-${i % 10}`, ...(i % 7 === 0 ? ['review'] : [])],
  device: `host-${i % 4}`,
  metadata: { index: i },
})

/** Median microseconds per call of `fn`, called `calls` times per round. */
async function measure(calls, fn) {
  const rounds = []
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now()
    for (let i = 0; i < calls; i++) await fn(i)
    rounds.push(((performance.now() - start) * 1000) / calls)
  }
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]
}

const results = [
  ['register (new or re-register)', await measure(AGENTS, (i) => registry.register(agent(i)))],
  ['require', await measure(AGENTS, (i) => registry.require(`agent-${i}`))],
  ['touch, seen < 1 s ago (read only)', await measure(AGENTS, (i) => registry.touch(`agent-${i}`))],
  [
    'touch, stale (writes)',
    await measure(AGENTS, (i) => {
      clock.advance(1000)
      return registry.touch(`agent-${i}`)
    }),
  ],
  ['findByCapability (143 of 1,000)', await measure(100, () => registry.findByCapability('review'))],
  ['list all 1,000', await measure(20, () => registry.list())],
]

await registry.close()
await spool.close()
rmSync(dir, { recursive: true, force: true })

const width = Math.max(...results.map(([name]) => name.length))
for (const [name, us] of results) {
  process.stdout.write(`${name.padEnd(width)}  ${us.toFixed(1).padStart(9)} µs\n`)
}
