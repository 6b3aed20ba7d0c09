import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { join } from 'node:path'
import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import { RelayClient } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { onCleanup, tempDir } from './helpers.js'
import { listening, spawnRelay } from './relay-bin.js'

/** Starts the relay bin with this process's environment and `env`; killed after the test if still running. */
function spawnRelayWith(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawnRelay(args, { ...process.env, ...env })
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode })
    else child.once('exit', (code, signal) => resolve({ code, signal }))
  })

async function output(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const { code } = await exited(child)
  return { code, stdout, stderr }
}

describe('the relay process', () => {
  it('loses no acknowledged send when killed with SIGKILL under load, and stops cleanly on SIGTERM', async () => {
    const dataDir = join(tempDir(), 'relay')
    const store = await SecretStore.open({ path: SecretStore.fileIn(dataDir) })
    const secrets: Record<string, string> = {
      architect: (await store.generate('architect')).secret,
      builder: (await store.generate('builder')).secret,
    }
    const args = ['--port', '0', '--data-dir', dataDir, '--rate-limit', '0', '--log-level', 'info']
    const first = spawnRelayWith(args)
    const url = await listening(first)
    const client = new RelayClient({ baseUrl: url, secretFor: (id) => secrets[id], retries: 0 })
    const ids = new IdGenerator()
    const acknowledged: string[] = []
    let stop = false
    const sender = async () => {
      while (!stop) {
        const message = createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'work' }, { ids })
        try {
          await client.send(message)
          acknowledged.push(message.id)
        } catch {
          return // The relay died mid-request: this send was never acknowledged.
        }
      }
    }
    const senders = Array.from({ length: 6 }, sender)
    // Kill it mid-stream once a good number of sends were acknowledged.
    while (acknowledged.length < 300) await new Promise((resolve) => setTimeout(resolve, 5))
    first.kill('SIGKILL')
    await exited(first)
    stop = true
    await Promise.all(senders)
    await client.close()

    const second = spawnRelayWith(args)
    const restartedUrl = await listening(second)
    const reader = new RelayClient({ baseUrl: restartedUrl, secretFor: (id) => secrets[id] })
    const claimed = new Set<string>()
    for (;;) {
      const batch = await reader.claim('builder', { limit: 100 })
      if (batch.length === 0) break
      for (const c of batch) claimed.add(c.message.id)
    }
    await reader.close()
    const lost = acknowledged.filter((id) => !claimed.has(id))
    expect(lost).toEqual([])
    expect(claimed.size).toBeGreaterThanOrEqual(acknowledged.length)

    second.kill('SIGTERM')
    expect(await exited(second)).toEqual({ code: 0, signal: null })
  })

  it('says which address it cannot listen on and what to do, without a stack trace, when the port is taken', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => taken.close(() => resolve())))
    const { port } = taken.address() as AddressInfo
    const result = await output(spawnRelayWith(['--port', String(port), '--data-dir', tempDir()]))
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      `agent-comm-relay: cannot listen on 127.0.0.1:${port}: the address is already in use\n` +
        'Stop what uses it, or choose another port (0 picks a free one): agent-comm-relay --port <port>\n',
    )
  })

  it('names a data folder it cannot make, without a stack trace', async () => {
    const file = join(tempDir(), 'not-a-folder')
    writeFileSync(file, '')
    const result = await output(spawnRelayWith(['--port', '0', '--data-dir', file]))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      `agent-comm-relay: Cannot create the relay's data folder ${file}: ${file} is not a folder\n`,
    )
    expect(result.stderr).toContain('--data-dir')
    expect(result.stderr).not.toMatch(/^\s+at /m)
  })

  it('prints its usage with --help', async () => {
    const result = await output(spawnRelayWith(['--help']))
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('--data-dir')
    expect(result.stdout).toContain('AGENT_COMM_RELAY_PORT')
  })

  it('refuses an invalid setting with exit code 2, naming it', async () => {
    const flag = await output(spawnRelayWith(['--port', 'eighty', '--data-dir', tempDir()]))
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain('--port must be a port number')
    const env = await output(
      spawnRelayWith(['--data-dir', tempDir()], { AGENT_COMM_RELAY_ADMIN_SECRET: 'short' }),
    )
    expect(env.code).toBe(2)
    expect(env.stderr).toContain('AGENT_COMM_RELAY_ADMIN_SECRET')
    expect(env.stderr).not.toContain('short')
    const overload = await output(spawnRelayWith(['--max-event-loop-delay', 'soon', '--data-dir', tempDir()]))
    expect(overload.code).toBe(2)
    expect(overload.stderr).toContain('--max-event-loop-delay must be a number of milliseconds')
  })
})
