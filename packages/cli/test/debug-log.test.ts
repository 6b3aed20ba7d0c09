import { describe, expect, it } from 'vitest'
import { project, runCli } from './helpers.js'

describe('AGENT_COMM_LOG_LEVEL=debug', () => {
  it('says on stderr which database and transports the command works with, and nothing on stdout', async () => {
    const p = project()
    const run = await p.run(['agents', '--json'])
    expect(run.stderr).toBe('')
    const debug = await runCli(['agents', '--json'], {
      cwd: p.dir,
      env: { ...p.env, AGENT_COMM_LOG_LEVEL: 'DEBUG' },
    })
    expect(debug.code).toBe(0)
    expect(JSON.parse(debug.stdout)).toEqual({ count: 0, agents: [] })
    expect(debug.stderr).toContain(`[debug] database ${p.db} (project root `)
    expect(debug.stderr).toMatch(
      /transports: sqlite .*, file .*, http .*unregistered recipients and new agents use sqlite/,
    )
  })
})
