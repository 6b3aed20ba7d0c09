import { MAX_INTERVAL_MS, MAX_TIMER_MS } from '@agent-comm/bridge'
import { LeaseSecondsSchema } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { MAX_LEASE_SECONDS, MAX_TIMEOUT_SECONDS, MAX_WAIT_SECONDS } from '../src/flags.js'
import { project, runCli } from './helpers.js'

describe('numeric flags are bounded before anything starts', () => {
  it("has the library's limits as the flags' maxima", () => {
    expect(MAX_LEASE_SECONDS).toBe(LeaseSecondsSchema.maxValue)
    expect(MAX_TIMEOUT_SECONDS * 1000).toBeLessThanOrEqual(MAX_TIMER_MS)
    expect((MAX_TIMEOUT_SECONDS + 1) * 1000).toBeGreaterThan(MAX_TIMER_MS)
    expect(MAX_WAIT_SECONDS * 1000).toBe(MAX_INTERVAL_MS)
  })

  for (const [args, flag] of [
    [['bridge', 'builder', '--command', 'true', '--interval', '4000'], '--interval'],
    [['bridge', 'builder', '--command', 'true', '--timeout', '3000000'], '--timeout'],
    [['bridge', 'builder', '--command', 'true', '--lease-seconds', '1e9'], '--lease-seconds'],
    [['poll', 'builder', '--lease-seconds', '1e9'], '--lease-seconds'],
    [['extend', 'msg_1', 'builder', '--lease-seconds', '1e9'], '--lease-seconds'],
  ] as const) {
    it(`${args[0]} ${flag} ${args.at(-1)} is a usage error naming the flag`, async () => {
      const run = await project().run(args)
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr).toContain(flag)
    })
  }

  it('refuses an AGENT_COMM_LEASE_SECONDS longer than the longest lease, naming the variable', async () => {
    const p = project()
    const run = await runCli(['agents'], { cwd: p.dir, env: { ...p.env, AGENT_COMM_LEASE_SECONDS: '1e9' } })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('AGENT_COMM_LEASE_SECONDS')
  })
})
