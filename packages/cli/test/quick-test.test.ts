import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BIN, cleanEnv, tempDir } from './helpers.js'

describe("the original guide's Quick Test", () => {
  it('registers, sends, polls and acks from a shell script against the built binary', () => {
    const dir = tempDir()
    const script = fileURLToPath(new URL('./quick-test.sh', import.meta.url))
    const run = spawnSync('bash', [script], {
      cwd: dir,
      env: cleanEnv({ AGENT_COMM: BIN, AGENT_COMM_DB_PATH: join(dir, 'coordination.db') }),
      encoding: 'utf8',
    })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const id = /^sent: (msg_\S+)$/m.exec(run.stdout)?.[1]
    expect(id).toBeDefined()
    expect(run.stdout).toContain(
      "Registered agent-a [active] caps=['send', 'receive'] device=local transport=sqlite",
    )
    expect(run.stdout).toContain(
      `Found 1 message(s) for agent-b:\n\n  ID: ${id}\n  From: agent-a\n  Subject: Greeting\n`,
    )
    expect(run.stdout).toContain('  Body: Hello from A!\n')
    expect(run.stdout).toContain(`Acknowledged ${id} for agent-b\n`)
    expect(run.stdout).toMatch(/quick test passed\n$/)
  })
})
