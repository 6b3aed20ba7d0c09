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
    // Longer than a year: the library would refuse it naming its own option (delaySeconds), not the flag.
    [['send', 'architect', 'builder', 'x', '--delay', '1e9'], '--delay'],
    [['nack', 'msg_1', 'builder', '--reason', 'r', '--delay', '1e9'], '--delay'],
    [['send', 'architect', 'builder', 'x', '--ttl-hours', '1e9'], '--ttl-hours'],
    [['relay', 'gen-secret', 'builder', '--rotate', '--grace-seconds', '1e12'], '--grace-seconds'],
    // Number() reads these as 16, 3 and 7: only decimal numbers are taken.
    [['send', 'architect', 'builder', 'x', '--delay', '0x10'], '--delay'],
    [['send', 'architect', 'builder', 'x', '--ttl-hours', '0b11'], '--ttl-hours'],
    [['poll', 'builder', '--lease-seconds', '0o7'], '--lease-seconds'],
    // Date.parse rolls these over to 2 March and 1 May.
    [['search', '--since', '2026-02-30'], '--since'],
    [['search', '--since', '2026-04-31T10:00:00Z'], '--since'],
    // Ids no agent can have: a usage error, not an empty listing.
    [['conversations', '--agent', 'x y'], '--agent'],
    [['failed', '--agent', '../x'], '--agent'],
    [['search', '--from', 'x\u001b[2J'], '--from'],
    [['search', '--to', 'a/b'], '--to'],
  ] as const) {
    it(`${args[0]} ${flag} ${args.at(-1)} is a usage error naming the flag`, async () => {
      const run = await project().run(args)
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr).toContain(flag)
    })
  }

  it('still takes decimal numbers with a fraction or an exponent, real dates and valid filters', async () => {
    const p = project()
    await p.ok(['register', 'architect', '-c', 'a', '-d', 'x'])
    await p.ok(['register', 'builder', '-c', 'a', '-d', 'x'])
    await p.ok(['send', 'architect', 'builder', 'x', '--delay', '1.5', '--ttl-hours', '2e1'])
    for (const args of [
      ['search', '--since', '2024-02-29', '--from', 'architect', '--to', 'builder'],
      ['search', '--to', '*'],
      ['conversations', '--agent', 'builder'],
      ['failed', '--agent', 'builder'],
    ]) {
      const run = await p.run(args)
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0)
    }
  })

  it('refuses an AGENT_COMM_LEASE_SECONDS longer than the longest lease, naming the variable', async () => {
    const p = project()
    const run = await runCli(['agents'], { cwd: p.dir, env: { ...p.env, AGENT_COMM_LEASE_SECONDS: '1e9' } })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('AGENT_COMM_LEASE_SECONDS')
  })
})
