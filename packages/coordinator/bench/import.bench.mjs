// Import benchmark: `node bench/import.bench.mjs [--quick]` (also run by `pnpm bench`). Starts a bare `node`
// process (the baseline) and one that runs `await import('@agent-comm/coordinator')`, interleaved round by
// round so drift in machine load touches both alike, and prints the ratios of the medians first: wall time
// of the whole process, and CPU time (user + system, which moves much less than wall time on a busy
// machine); then the RSS the importing process ends with. Run again with Node's compile cache
// (NODE_COMPILE_CACHE, what an application can turn on for itself) for comparison.
// Targets (issue #15): the import ≤ 150 ms, RSS after it ≤ 80 MiB.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROUNDS = process.argv.includes('--quick') ? 7 : 21
const cache = mkdtempSync(join(tmpdir(), 'agent-comm-import-bench-'))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

// Each process reports its own CPU time and RSS as its last act.
const REPORT =
  'const u = process.cpuUsage(); process.stdout.write(JSON.stringify({ cpu: (u.user + u.system) / 1000, rss: process.memoryUsage().rss }))'

/** Runs `code` as a fresh ES module process; its wall time, CPU time (ms) and final RSS (MiB). */
function run(code, env = {}) {
  const started = performance.now()
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `${code}; ${REPORT}`], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
    env: { ...process.env, ...env },
  })
  const wall = performance.now() - started
  const { cpu, rss } = JSON.parse(out)
  return { wall, cpu, rss: rss / 2 ** 20 }
}

const IMPORT = "await import('@agent-comm/coordinator')"
const cases = {
  'bare node': () => run('0'),
  "import('@agent-comm/coordinator')": () => run(IMPORT),
  'the same with NODE_COMPILE_CACHE': () => run(IMPORT, { NODE_COMPILE_CACHE: cache }),
}

try {
  run(IMPORT, { NODE_COMPILE_CACHE: cache }) // fills the compile cache
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]))
  for (let round = -1; round < ROUNDS; round++) {
    for (const [name, measure] of Object.entries(cases)) {
      const sample = measure()
      if (round >= 0) samples[name].push(sample) // the first round warms the file cache
    }
  }
  const med = (name, key) => median(samples[name].map((s) => s[key]))
  const base = { wall: med('bare node', 'wall'), cpu: med('bare node', 'cpu') }
  console.log(
    `agent-comm import benchmark — node ${process.version}, medians of ${ROUNDS} interleaved rounds\n` +
      `baseline: bare node — ${fmt(base.wall)} ms wall, ${fmt(base.cpu)} ms CPU, ${fmt(med('bare node', 'rss'))} MiB RSS`,
  )
  for (const name of Object.keys(cases).slice(1)) {
    const [wall, cpu, rss] = [med(name, 'wall'), med(name, 'cpu'), med(name, 'rss')]
    console.log(
      `${name}: ${fmt(wall / base.wall, 1)}× bare node (wall), ${fmt(cpu / base.cpu, 1)}× (CPU)` +
        ` — ${fmt(wall)} ms wall, ${fmt(cpu)} ms CPU, ${fmt(rss)} MiB RSS after (targets ≤ 150 ms, ≤ 80 MiB)`,
    )
  }
} finally {
  rmSync(cache, { recursive: true, force: true })
}
