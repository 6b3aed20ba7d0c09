import { randomBytes } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { loadRelayConfig, RELAY_ENV_VARIABLES } from '@agent-comm/relay'
import { describe, expect, it } from 'vitest'
import { relayArgv, relayServerFlags } from '../src/relay-flags.js'
import { cleanEnv, exited, firstLine, runCli, spawnCli, tempDir } from './helpers.js'

/** Starts `agent-comm relay start --port 0 --json` in a fresh folder and resolves once it listens. */
async function startRelay(extra: string[] = []) {
  const dir = tempDir()
  const child = spawnCli(['relay', 'start', '--port', '0', '--json', ...extra], { cwd: dir, env: cleanEnv() })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const listening = JSON.parse(await firstLine(child)) as { url: string; dataDir: string }
  return { dir, child, listening, stderr: () => stderr }
}

describe('agent-comm relay start', () => {
  it('offers exactly the flags of agent-comm-relay, each naming the variable it overrides', () => {
    const relayFlags = Object.values(RELAY_ENV_VARIABLES).flatMap(
      (description) => /flag --([a-z0-9-]+)/.exec(description)?.[1] ?? [],
    )
    expect(Object.keys(relayServerFlags).sort()).toEqual(relayFlags.sort())
    for (const [variable, description] of Object.entries(RELAY_ENV_VARIABLES)) {
      const flag = /flag --([a-z0-9-]+)/.exec(description)?.[1]
      if (flag === undefined) continue
      expect(relayServerFlags[flag as keyof typeof relayServerFlags].description).toContain(variable)
    }
  })

  it('passes each --a2a-push-allow to the relay, which allows those webhooks', () => {
    const argv = relayArgv({ port: '0', 'a2a-push-allow': ['10.20.0.0/16', 'hooks.internal,127.0.0.1'] })
    expect(argv).toEqual([
      '--port',
      '0',
      '--a2a-push-allow',
      '10.20.0.0/16',
      '--a2a-push-allow',
      'hooks.internal,127.0.0.1',
    ])
    expect(loadRelayConfig(argv, {})).toMatchObject({
      config: { a2aPushAllow: ['10.20.0.0/16', 'hooks.internal', '127.0.0.1'] },
    })
  })

  it('prints {url, dataDir} once listening, answers /api/v1/health, and stops with exit 0 on SIGTERM', async () => {
    const { dir, child, listening, stderr } = await startRelay()
    expect(listening).toEqual({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      dataDir: join(dir, 'data', 'relay'),
    })
    const health = await fetch(`${listening.url}/api/v1/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok', database: 'ok' })
    expect(existsSync(join(listening.dataDir, 'relay.db'))).toBe(true)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
    // The relay's JSON log lines went to stderr; stdout held the one document only.
    expect(stderr()).toContain('"msg":"relay stopped"')
  })

  it('stops with exit 0 on SIGINT and says so on stderr without --json', async () => {
    const dir = tempDir()
    const child = spawnCli(['relay', 'start', '--port', '0', '--data-dir', 'here', '--log-level', 'silent'], {
      cwd: dir,
      env: cleanEnv(),
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    await expect.poll(() => stderr).toMatch(/Relay listening on http:\/\/127\.0\.0\.1:\d+/)
    expect(stderr).toContain(`(data: ${join(dir, 'here')})`)
    child.kill('SIGINT')
    expect(await exited(child)).toBe(0)
    expect(stderr).toContain('Relay stopped.')
    expect(stdout).toBe('')
  })

  it('seals the A2A push-signing key with --secrets-key-file on SQLite too, so it makes no secrets.key', async () => {
    const keyDir = tempDir()
    const keyFile = join(keyDir, 'relay.key')
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 })
    const { child, listening } = await startRelay(['--secrets-key-file', keyFile])
    expect(existsSync(join(listening.dataDir, 'relay.db'))).toBe(true)
    expect(existsSync(join(listening.dataDir, 'secrets.key'))).toBe(false)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
    const help = await runCli(['relay', 'start', '--help'], { env: cleanEnv() })
    expect(help.stdout).not.toMatch(/--secrets-key-file=<file>\s+PostgreSQL only/)
  })

  it('exits 2 for an invalid setting, naming the flag or the variable', async () => {
    const dir = tempDir()
    const flag = await runCli(['relay', 'start', '--port', 'eighty'], { cwd: dir, env: cleanEnv() })
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/^Error: --port must be a port number \(got 'eighty'\)\n/)
    const timeout = await runCli(['relay', 'start', '--request-timeout', '0'], { cwd: dir, env: cleanEnv() })
    expect(timeout.code).toBe(2)
    expect(timeout.stderr).toMatch(/^Error: --request-timeout must be at least 1 \(got '0'\)\n/)
    const variable = await runCli(['relay', 'start', '--json'], {
      cwd: dir,
      env: cleanEnv({ AGENT_COMM_RELAY_RATE_LIMIT: '-1' }),
    })
    expect(variable.code).toBe(2)
    expect(JSON.parse(variable.stdout).error).toMatchObject({ code: 'CONFIG' })
    expect(JSON.parse(variable.stdout).error.message).toMatch(/^AGENT_COMM_RELAY_RATE_LIMIT/)
  })

  it('exits 1 with what to do when the port is taken', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const { port } = blocker.address() as { port: number }
    try {
      const dir = tempDir()
      const run = await runCli(['relay', 'start', '--port', String(port)], { cwd: dir, env: cleanEnv() })
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(
        `Error: The relay cannot listen on 127.0.0.1:${port}: the address is already in use\nStop what uses it, or choose another port (0 picks a free one): agent-comm relay start --port <port>\n`,
      )
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })
})
