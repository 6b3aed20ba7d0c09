import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanEnv, exited, firstLine, runCli, spawnCli, tempDir } from './helpers.js'

describe('a relay shedding requests for overload', () => {
  it('leaves agent-comm send, once its retries ran out, with a clear error and what to do', async () => {
    const relayDir = tempDir()
    // A heap limit of one byte is exceeded from the relay's first measurement on: overloaded for sure.
    const relay = spawnCli(
      ['relay', 'start', '--port', '0', '--data-dir', 'relay-data', '--json', '--max-heap-used', '1'],
      { cwd: relayDir, env: cleanEnv({ AGENT_COMM_RELAY_LOG_LEVEL: 'error' }) },
    )
    const { url } = JSON.parse(await firstLine(relay)) as { url: string }
    try {
      const gen = await runCli(['relay', 'gen-secret', 'agent-a', '--data-dir', 'relay-data', '--json'], {
        cwd: relayDir,
        env: cleanEnv(),
      })
      const { secret } = JSON.parse(gen.stdout) as { secret: string }
      // The load balancer's view: the replica says it is under pressure.
      await expect
        .poll(async () => (await fetch(`${url}/api/v1/health/ready`)).status, { timeout: 60_000 })
        .toBe(503)
      const dir = tempDir()
      const env = cleanEnv({ AGENT_COMM_DB_PATH: join(dir, 'local.db'), AGENT_COMM_SECRET_AGENT_A: secret })
      const http = ['--transport-type', 'http', '--relay-url', url]
      expect(
        (await runCli(['register', 'agent-b', '-c', 'x', '-d', 'b', ...http], { cwd: dir, env })).code,
      ).toBe(0)
      const send = await runCli(['send', 'agent-a', 'agent-b', 'hello'], { cwd: dir, env })
      expect(send.code).toBe(1)
      expect(send.stderr).toMatch(
        /^Error: The relay is overloaded \(its memory \(heap\) is nearly full\) and did not handle this request \(refused all \d+ attempts\)\nRetry after 2 s: nothing was done.*--max-heap-used\.\n$/,
      )
      expect(send.stderr).not.toMatch(/at .*\.js|FST_/)
    } finally {
      relay.kill('SIGTERM')
      await exited(relay)
    }
  })
})
