// Relay start-up benchmark (Linux): `node bench/startup.bench.mjs [--quick]` after a build. Starts the relay
// bin on SQLite (a fresh data folder, port 0) until it logs `relay listening`, and a bare `node -e 0` as the
// baseline, interleaved round by round, and prints the ratio of the medians of their CPU time (user + system,
// read from /proc when the relay is listening; it moves much less than wall time on a busy machine), then
// the wall times.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROUNDS = process.argv.includes('--quick') ? 5 : 11
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'agent-comm-relay-startup-'))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** CPU milliseconds process `pid` has used so far (utime + stime from /proc, in clock ticks of 10 ms). */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Runs `node ...args` until `ready` matches its stdout (then kills it) or until it exits. */
function run(args, ready) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let cpu
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (ready !== undefined && cpu === undefined && ready.test(out)) {
        cpu = cpuOf(child.pid)
        resolve({ wall: performance.now() - started, cpu })
        child.kill('SIGKILL')
      }
    })
    child.on('exit', (code) => {
      if (ready === undefined) resolve({ wall: performance.now() - started, cpu: undefined })
      else if (cpu === undefined) reject(new Error(`the relay exited (${code}) before listening:\n${out}`))
    })
  })
}

try {
  const relay = (round) =>
    run(
      [BIN, '--port', '0', '--data-dir', join(dir, `data-${round}`), '--log-level', 'info'],
      /"relay listening"/,
    )
  // The baseline's CPU time: bash's `times` after a bare `node -e 0`, as the CLI's start-up bench reads it.
  const bare = () =>
    new Promise((resolve) => {
      const started = performance.now()
      const child = spawn('bash', ['-c', `'${process.execPath}' -e 0; times`], {
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      let out = ''
      child.stdout.on('data', (chunk) => {
        out += chunk
      })
      child.on('exit', () => {
        const [user, system] = [
          ...out
            .trim()
            .split('\n')
            .at(-1)
            .matchAll(/(\d+)m([\d.]+)s/g),
        ].map((m) => (Number(m[1]) * 60 + Number(m[2])) * 1000)
        resolve({ wall: performance.now() - started, cpu: user + system })
      })
    })
  const samples = { bare: [], relay: [] }
  for (let round = -1; round < ROUNDS; round++) {
    const b = await bare()
    const r = await relay(round + 1)
    if (round < 0) continue // warms the file cache
    samples.bare.push(b)
    samples.relay.push(r)
  }
  const med = (name, key) => median(samples[name].map((s) => s[key]))
  console.log(
    `baseline: node -e 0 — ${med('bare', 'cpu').toFixed(0)} ms CPU, ${med('bare', 'wall').toFixed(0)} ms wall (medians of ${ROUNDS})`,
  )
  console.log(
    `relay on SQLite, start to listening: ${(med('relay', 'cpu') / med('bare', 'cpu')).toFixed(1)}× node -e 0 (CPU),` +
      ` ${(med('relay', 'wall') / med('bare', 'wall')).toFixed(1)}× (wall) — ${med('relay', 'cpu').toFixed(0)} ms CPU,` +
      ` ${med('relay', 'wall').toFixed(0)} ms wall`,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
