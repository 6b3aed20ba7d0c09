import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describeOnPrivateCluster } from '@agent-comm/test-support/private-cluster'
import { expect, it } from 'vitest'
import { cleanEnv, exited, runCli, spawnCli, tempDir } from './helpers.js'

/**
 * Long-running commands on PostgreSQL while the server restarts. The shared test server must stay up for
 * the other test files, so this file starts a cluster of its own; where that is impossible it says why
 * and skips, except in CI, where a missing PostgreSQL 15 is a failure.
 */
const agent = fileURLToPath(new URL('./fixtures/answer.mjs', import.meta.url))
const command = [process.execPath, agent].map((w) => `'${w}'`).join(' ')

/** Gathers a child's stderr, and resolves when it contains `text`; rejects if the child exits first. */
function stderrOf(child: ChildProcess): { text: () => string; contains: (text: string) => Promise<void> } {
  let err = ''
  const waiters = new Set<() => void>()
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
    for (const waiter of [...waiters]) waiter()
  })
  return {
    text: () => err,
    contains: (text) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (err.includes(text)) {
            waiters.delete(check)
            resolve()
          }
        }
        waiters.add(check)
        check()
        void exited(child).then((code) => {
          if (waiters.delete(check)) reject(new Error(`exited with ${code} before saying '${text}': ${err}`))
        })
      }),
  }
}

describeOnPrivateCluster('the CLI on a PostgreSQL server that restarts', (cluster) => {
  it('keeps a bridge running through a crash and restart of the server, and it answers the requests after', async () => {
    const cwd = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: cluster().url })
    for (const name of ['asker', 'bot']) {
      expect((await runCli(['register', name, '-c', 'x', '-d', 'l'], { cwd, env })).code).toBe(0)
    }
    const bridge = spawnCli(['bridge', 'bot', '--command', command, '--interval', '1'], { cwd, env })
    const bridgeErr = stderrOf(bridge)
    const before = await runCli(['request', 'asker', 'bot', 'before the crash', '--wait', '120'], {
      cwd,
      env,
    })
    expect(before.stdout).toContain('before the crash')
    expect(before.code).toBe(0)

    await cluster().stop('immediate')
    // The bridge meets the outage while it polls, and waits it out instead of exiting.
    await bridgeErr.contains('(polling again in')
    await cluster().start()

    const after = await runCli(['request', 'asker', 'bot', 'after the restart', '--wait', '120'], {
      cwd,
      env,
    })
    expect(after.stdout).toContain('after the restart')
    expect(after.code).toBe(0)
    expect(bridge.exitCode).toBeNull()
    expect(bridgeErr.text()).not.toMatch(/\n\s+at /)
    console.log('BRIDGE', bridgeErr.text())
    bridge.kill('SIGTERM')
    expect(await exited(bridge)).toBe(0)
  })
})
