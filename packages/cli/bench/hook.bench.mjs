// `agent-comm inbox AGENT --new` runs on every prompt of an assistant (as a Claude Code / Codex hook), so
// its whole-process time is what counts: measured here against a bare `node -e 0` in the same run (the
// floor no Node program beats), and against the full `agent-comm inbox AGENT` through oclif. Then the same
// hook on PostgreSQL (BENCH_PG_URL, default the local server; a throwaway schema, dropped at the end), when
// a server answers.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const dir = mkdtempSync(join(tmpdir(), 'agent-comm-hook-bench-'))
const env = { ...process.env, AGENT_COMM_DB_PATH: join(dir, 'spool.db') }
const run = (args, runEnv = env) => {
  const started = performance.now()
  const result = spawnSync(process.execPath, args, { env: runEnv, encoding: 'utf8' })
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
  await postgres()
} finally {
  rmSync(dir, { recursive: true, force: true })
}

async function postgres() {
  const { dropPostgresSchema } = await import('@agent-comm/postgres')
  const url = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const schema = `hook_bench_${randomBytes(4).toString('hex')}`
  const pgEnv = { ...env, AGENT_COMM_DB_PATH: url, AGENT_COMM_PG_SCHEMA: schema, HOME: dir }
  const probe = spawnSync(process.execPath, [BIN, 'register', 'architect', '-c', 'plan', '-d', 'local'], {
    env: pgEnv,
    encoding: 'utf8',
  })
  if (probe.status !== 0) {
    console.log(`inbox --new on PostgreSQL: skipped (${probe.stderr.split('\n')[0]})`)
    return
  }
  try {
    run([BIN, 'register', 'builder', '-c', 'code', '-d', 'local'], pgEnv)
    for (let i = 0; i < 20; i++) {
      run([BIN, 'send', 'architect', 'builder', `task ${i}`, '-s', `Task ${i}`], pgEnv)
    }
    const hook = []
    const bare = []
    for (let i = 0; i < RUNS; i++) {
      bare.push(run(['-e', '0'])[0])
      hook.push(
        run([BIN, 'inbox', 'builder', '--new', '--format', 'hook-json', '--client', 'bench'], pgEnv)[0],
      )
    }
    console.log(
      `inbox --new (hook) on PostgreSQL: ${median(hook).toFixed(0)} ms whole process (bare node ${median(bare).toFixed(0)} ms, ratio ${(median(hook) / median(bare)).toFixed(2)})`,
    )
  } finally {
    await dropPostgresSchema({ url, schema })
  }
}
