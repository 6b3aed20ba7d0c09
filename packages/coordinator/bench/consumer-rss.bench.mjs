// Consumer memory benchmark: `node bench/consumer-rss.bench.mjs [--quick]` (also run by `pnpm bench`).
// Sends 100k messages, then consumes them in a child process with
// `for await (const m of coordinator.messages('builder', { autoAck: true }))`, and prints that process's
// RSS: first a bare `node` process's RSS (the baseline from the same run), then the consumer's right after
// opening the coordinator and after every 20k messages, so growth per message shows. Target: ≤ 100 MiB after
// 100k messages.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MiB = 1024 * 1024
const fmt = (bytes) => `${(bytes / MiB).toFixed(0)} MiB`

if (process.argv[2] === '--consume') {
  // The child: consume `count` messages and report RSS (and heap) as it goes, as one JSON line.
  const [root, count] = [process.argv[3], Number(process.argv[4])]
  const { createCoordinator, loadConfig } = await import('../dist/index.js')
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: root }))
  const sample = (at) => {
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage()
    return { at, rss, heap: heapUsed, heapTotal, external }
  }
  const samples = [sample(0)]
  const stop = new AbortController()
  let n = 0
  for await (const _ of coord.messages('builder', { autoAck: true, signal: stop.signal })) {
    n++
    if (n % 10_000 === 0 || n === count) samples.push(sample(n))
    if (n === count) stop.abort()
  }
  await coord.close()
  process.stdout.write(`${JSON.stringify(samples)}\n`)
  process.exit(0)
}

const COUNT = process.argv.includes('--quick') ? 20_000 : 100_000
const dir = mkdtempSync(join(tmpdir(), 'agent-comm-consumer-rss-'))
try {
  const { createCoordinator, loadConfig } = await import('../dist/index.js')
  const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: dir }))
  await coord.register({ agentId: 'architect', capabilities: ['planning'] })
  await coord.register({ agentId: 'builder', capabilities: ['code'] })
  const body =
    'Please implement user authentication with JWT tokens. Requirements: refresh tokens, revocation.'
  for (let i = 0; i < COUNT; i++) {
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', subject: `Task ${i}`, body })
  }
  await coord.close()

  const bare = Number(
    execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.memoryUsage().rss))']),
  )
  const self = fileURLToPath(import.meta.url)
  // `--child-flag=--max-semi-space-size=4` and the like: Node flags for the consumer process only.
  const childFlags = process.argv.filter((a) => a.startsWith('--child-flag=')).map((a) => a.slice(13))
  const out = execFileSync(process.execPath, [...childFlags, self, '--consume', dir, String(COUNT)], {
    encoding: 'utf8',
  })
  if (childFlags.length > 0) console.log(`consumer run with: node ${childFlags.join(' ')}`)
  const samples = JSON.parse(out.trim().split('\n').at(-1))
  const last = samples.at(-1)
  console.log(`baseline: bare node process RSS ${fmt(bare)}`)
  console.log(
    `consumer RSS after ${last.at.toLocaleString('en-US')} messages: ${fmt(last.rss)} (${(last.rss / bare).toFixed(1)}× bare node; target ≤ 100 MiB)`,
  )
  for (const s of samples) {
    console.log(
      `  after ${String(s.at).padStart(6)}: RSS ${fmt(s.rss)}, JS heap ${fmt(s.heap)} used of ${fmt(s.heapTotal)}, external ${fmt(s.external)}`,
    )
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
