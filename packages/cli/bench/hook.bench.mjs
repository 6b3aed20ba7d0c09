// `agent-comm inbox AGENT --new` runs on every prompt of an assistant (as a Claude Code / Codex hook), so
// its whole-process time is what counts: measured here against a bare `node -e 0` in the same run (the
// floor no Node program beats), and against the full `agent-comm inbox AGENT` through oclif.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const dir = mkdtempSync(join(tmpdir(), 'agent-comm-hook-bench-'))
const env = { ...process.env, AGENT_COMM_DB_PATH: join(dir, 'spool.db') }
const run = (args) => {
  const started = performance.now()
  const result = spawnSync(process.execPath, args, { env, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`)
  return [performance.now() - started, result.stdout]
}
try {
  run([BIN, 'register', 'architect', '-c', 'plan', '-d', 'local'])
  run([BIN, 'register', 'builder', '-c', 'code', '-d', 'local'])
  for (let i = 0; i < 20; i++) run([BIN, 'send', 'architect', 'builder', `task ${i}`, '-s', `Task ${i}`])
  const hook = []
  const bare = []
  const full = []
  for (let i = 0; i < RUNS; i++) {
    bare.push(run(['-e', '0'])[0])
    hook.push(run([BIN, 'inbox', 'builder', '--new', '--format', 'hook-json', '--client', 'bench'])[0])
    if (i < 5) full.push(run([BIN, 'inbox', 'builder'])[0])
  }
  const [, output] = run([BIN, 'inbox', 'builder', '--new', '--format', 'hook-json'])
  console.log(
    `inbox --new (hook): ${median(hook).toFixed(0)} ms whole process (bare node ${median(bare).toFixed(0)} ms, ratio ${(median(hook) / median(bare)).toFixed(2)}); full inbox through oclif ${median(full).toFixed(0)} ms; output ${output.length} chars for 20 waiting messages`,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
