import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cleanEnv, exited, project, registerAgents, spawnCli, tempDir } from './helpers.js'

const agent = fileURLToPath(new URL('./fixtures/answer.mjs', import.meta.url))
const hang = fileURLToPath(new URL('./fixtures/hang.mjs', import.meta.url))

/** Resolves once the child's stderr contains `text` (the command's "running" notice). */
function stderrSays(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      if (stderr.includes(text)) resolve()
    })
    child.once('exit', (code) => reject(new Error(`exited ${code} before saying '${text}':\n${stderr}`)))
  })
}

// The issue asks that every long-running command stops "within a second". That is a property of the code,
// not something a loaded test machine can time: no stop path waits longer than 1 s (the bridge's command
// gets SIGTERM, then SIGKILL after 500 ms; polls, health checks and servers are aborted by the stop signal
// at once). These tests check that each command exits by itself, cleanly, within a generous bound.

/**
 * Sends `signal` and resolves the exit code, or 'still running' if the command has not exited 20 s later
 * (generous: the machine is loaded; the point is that it exits by itself, cleanly).
 */
async function stopWith(child: ChildProcess, signal: NodeJS.Signals): Promise<number | string | null> {
  child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('still running'), 20_000)
  })
  try {
    return await Promise.race([exited(child), late])
  } finally {
    clearTimeout(timer)
  }
}

describe('long-running commands stop cleanly on SIGINT and SIGTERM', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`bridge with a short --interval exits 0 on ${signal}`, async () => {
      const p = project()
      await registerAgents(p, 'builder')
      const child = spawnCli(
        ['bridge', 'builder', '--command', `'${process.execPath}' '${agent}'`, '--interval', '0.1'],
        { cwd: p.dir, env: p.env },
      )
      await stderrSays(child, 'Bridging builder')
      expect(await stopWith(child, signal)).toBe(0)
    })

    it(`bridge --check stops a health check that hangs on ${signal}, without waiting for its time limit`, async () => {
      const p = project()
      const child = spawnCli(
        ['bridge', 'builder', '--command', `'${process.execPath}' '${hang}'`, '--check'],
        {
          cwd: p.dir,
          env: p.env,
        },
      )
      let output = ''
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
      await stderrSays(child, 'Checking command')
      child.stderr?.on('data', (chunk: string) => (output += chunk))
      expect(await stopWith(child, signal)).toBe(1)
      // Not the verdict of a check that ran out of time (10 s): the stop ended it.
      expect(output).toContain(`was stopped by ${signal}`)
      expect(output).not.toContain('NOT reachable')
    })

    it(`poll --follow exits 0 on ${signal}`, async () => {
      const p = project()
      await registerAgents(p, 'builder')
      const child = spawnCli(['poll', 'builder', '--follow'], { cwd: p.dir, env: p.env })
      await stderrSays(child, 'Following messages for builder')
      expect(await stopWith(child, signal)).toBe(0)
    })

    it(`mcp --http exits 0 on ${signal}`, async () => {
      const p = project()
      const child = spawnCli(['mcp', '--http', '--port', '0'], { cwd: p.dir, env: p.env })
      await stderrSays(child, 'MCP server listening on')
      expect(await stopWith(child, signal)).toBe(0)
    })

    it(`relay start signalled during its startup exits 0 on ${signal}`, async () => {
      const dir = tempDir()
      const child = spawnCli(['relay', 'start', '--port', '0', '--data-dir', dir], {
        cwd: dir,
        env: cleanEnv({ AGENT_COMM_LOG_LEVEL: 'debug' }),
      })
      // Signalled as soon as it catches signals: before it has loaded the relay and listens.
      await stderrSays(child, 'SIGINT and SIGTERM now stop it cleanly')
      expect(await stopWith(child, signal)).toBe(0)
    })

    it(`poll --wait exits 0 on ${signal}, having claimed nothing`, async () => {
      const p = project()
      await registerAgents(p, 'builder')
      const child = spawnCli(['poll', 'builder', '--wait', '3600'], { cwd: p.dir, env: p.env })
      let stdout = ''
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
      await stderrSays(child, 'Waiting up to 3600s')
      expect(await stopWith(child, signal)).toBe(0)
      expect(stdout).toContain('No messages')
    })

    it(`mcp on stdio exits 0 on ${signal} while the client keeps stdin open`, async () => {
      const dir = tempDir()
      // At level info it says when it is ready.
      const child = spawnCli(['mcp', '--db', 'spool.db'], {
        cwd: dir,
        env: cleanEnv({ AGENT_COMM_LOG_LEVEL: 'info' }),
        keepStdinOpen: true,
      })
      await stderrSays(child, 'ready on stdio')
      expect(await stopWith(child, signal)).toBe(0)
    })
  }
})

describe('numeric flags of long-running commands', () => {
  it('refuses a bridge --interval of 0 (a busy loop) with exit 2 and the allowed range', async () => {
    const p = project()
    const run = await p.run(['bridge', 'builder', '--command', 'cat', '--interval', '0'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("Invalid --interval: expected a number of seconds from 0.1 to 3600, got '0'")
  })

  it('refuses a --lease-seconds under 1 (bridge, poll and extend alike) and a poll --wait over an hour', async () => {
    const p = project()
    for (const args of [
      ['bridge', 'builder', '--command', 'cat', '--lease-seconds', '0.5'],
      ['poll', 'builder', '--lease-seconds', '0.5'],
      ['extend', 'msg_1', 'builder', '--lease-seconds', '0.5'],
    ]) {
      const lease = await p.run(args)
      expect(lease.code, args.join(' ')).toBe(2)
      expect(lease.stderr).toContain(
        "Invalid --lease-seconds: expected a number of seconds from 1 to 604800, got '0.5'",
      )
    }
    const wait = await p.run(['poll', 'builder', '--wait', '3601'])
    expect(wait.code).toBe(2)
    expect(wait.stderr).toContain("expected a number of seconds from 0 to 3600, got '3601'")
  })
})
