// CLI start-up benchmark: `pnpm bench` (from the repo root or packages/cli). Runs `node -e 0` (the
// baseline: bare Node start-up on this machine, measured in the same run) and `agent-comm send` as whole
// processes, interleaved round by round so drift in machine load touches both alike, and prints the
// ratio of the medians first — wall-clock time and CPU time (user + system, steadier on a loaded machine)
// — then the absolute medians. Target (issue #15): send ≤ 3× `node -e 0`, and ≤ 0.5× the Python CLI: the
// original is not in this repository, so its `send` is stood in for by bench/python-send.py (its libraries,
// click and pydantic, and its SQLite writes; see that file), run by the interpreter itself (not a pyenv
// shim) when `python3` with click and pydantic is found, else skipped with the reason.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROUNDS = process.argv.includes('--quick') ? 7 : 21
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'agent-comm-cli-bench-'))
const db = join(dir, 'bench.db')
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * The Python interpreter for the stand-in (its real path: a pyenv shim would add a shell's start-up), or
 * why there is none.
 */
function findPython() {
  const probe = spawnSync('python3', ['-c', 'import sys, click, pydantic; print(sys.executable)'], {
    encoding: 'utf8',
  })
  if (probe.error !== undefined) return { skipped: `python3 not found (${probe.error.message})` }
  if (probe.status !== 0)
    return { skipped: `python3 lacks click or pydantic: ${probe.stderr.trim().split('\n').at(-1)}` }
  return { python: probe.stdout.trim() }
}

/** Runs `command ...args` (node by default) to the end; its wall-clock and CPU ms (from bash's `times`). */
function run(args, command = process.execPath) {
  const quoted = args.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')
  const started = performance.now()
  const child = spawnSync('bash', ['-c', `'${command}' ${quoted} >/dev/null; times`], {
    encoding: 'utf8',
  })
  const wall = performance.now() - started
  if (child.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${child.stderr}`)
  // The last line of `times` is the children's user and system time: "0m0.123s 0m0.045s".
  const [user, system] = [
    ...child.stdout
      .trim()
      .split('\n')
      .at(-1)
      .matchAll(/(\d+)m([\d.]+)s/g),
  ].map((m) => (Number(m[1]) * 60 + Number(m[2])) * 1000)
  return { wall, cpu: user + system }
}

try {
  for (const agent of ['a', 'b']) run([bin, 'register', agent, '-c', 'x', '-d', 'bench', '--db', db])
  const cases = {
    'node -e 0': ['-e', '0'],
    'agent-comm send': [bin, 'send', 'a', 'b', 'hi', '--db', db],
    // The same send through oclif: --ttl-hours has a parser of its own, so send's fast path leaves it to oclif.
    'agent-comm send, through oclif': [bin, 'send', 'a', 'b', 'hi', '--db', db, '--ttl-hours', '24'],
    'agent-comm --help': [bin, '--help'],
  }
  const { python, skipped } = findPython()
  const PYTHON = 'Python stand-in send'
  if (python !== undefined) {
    const script = fileURLToPath(new URL('./python-send.py', import.meta.url))
    const pyDb = join(dir, 'python.db')
    for (const agent of ['a', 'b']) run([script, 'register', agent, '--db', pyDb], python)
    cases[PYTHON] = [script, 'send', 'a', 'b', 'hi', '--db', pyDb]
  }
  const commandOf = (name) => (name === PYTHON ? python : process.execPath)
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, { wall: [], cpu: [] }]))
  for (let round = -2; round < ROUNDS; round++) {
    for (const [name, args] of Object.entries(cases)) {
      const { wall, cpu } = run(args, commandOf(name))
      // The first rounds warm the file cache and Node's compile cache; they are not counted.
      if (round < 0) continue
      samples[name].wall.push(wall)
      samples[name].cpu.push(cpu)
    }
  }
  const base = samples['node -e 0']
  console.log(
    `baseline: node -e 0 — ${median(base.wall).toFixed(0)} ms wall, ${median(base.cpu).toFixed(0)} ms CPU`,
  )
  for (const [name, s] of Object.entries(samples)) {
    if (name === 'node -e 0') continue
    const wall = median(s.wall) / median(base.wall)
    const cpu = median(s.cpu) / median(base.cpu)
    console.log(
      `${name}: ${wall.toFixed(1)}× node -e 0 (wall), ${cpu.toFixed(1)}× (CPU)` +
        ` — ${median(s.wall).toFixed(0)} ms wall, ${median(s.cpu).toFixed(0)} ms CPU (medians of ${ROUNDS})`,
    )
  }
  if (python === undefined) console.log(`Python stand-in: skipped — ${skipped}`)
  else {
    const ours = samples['agent-comm send']
    const theirs = samples[PYTHON]
    console.log(
      `agent-comm send vs the Python stand-in: ${(median(ours.wall) / median(theirs.wall)).toFixed(2)}× (wall), ` +
        `${(median(ours.cpu) / median(theirs.cpu)).toFixed(2)}× (CPU) — target ≤ 0.5× the Python CLI`,
    )
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
