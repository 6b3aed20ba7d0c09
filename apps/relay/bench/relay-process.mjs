// The relay bin as a child process on 127.0.0.1, for the benchmarks.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { RelayClient } from '@agent-comm/transport-http'

const pause = (ms) => new Promise((r) => setTimeout(r, ms))

/** A port nobody listens on right now. */
export async function freePort() {
  const server = createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  await new Promise((r) => server.close(r))
  return port
}

/**
 * Starts the relay bin on 127.0.0.1:`port` over `dataDir` with `flags` (and `env` added to this process's
 * environment), and waits until it answers. `build` runs another checkout's relay, probed with that
 * checkout's client: `{ bin, RelayClient }` (bench/cpu.mjs compares builds).
 */
export async function startRelayProcess(dataDir, port, flags = [], env = {}, build = {}) {
  const bin = build.bin ?? fileURLToPath(new URL('../dist/bin.js', import.meta.url))
  const Client = build.RelayClient ?? RelayClient
  const child = spawn(
    process.execPath,
    [bin, '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', ...flags],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } },
  )
  const url = `http://127.0.0.1:${port}`
  const probe = new Client({ baseUrl: url, secretFor: () => undefined, retries: 0 })
  for (let i = 0; ; i++) {
    try {
      await probe.health()
      break
    } catch (error) {
      if (i > 2400) throw error
      await pause(25)
    }
  }
  await probe.close()
  return { child, url }
}
