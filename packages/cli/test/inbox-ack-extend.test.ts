import { describe, expect, it } from 'vitest'
import { project, registerAgents } from './helpers.js'

interface Claimed {
  message: { id: string }
  lease: { receipt: string; recipient: string; leaseUntil: string }
}

describe('inbox', () => {
  it('shows what waits for an agent without claiming it', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const first = (await p.ok(['send', 'agent-a', 'agent-b', 'one', '-s', 'First'])).stdout.trim()
    const urgent = (
      await p.ok(['send', 'agent-a', 'agent-b', 'two', '-s', 'Urgent', '-p', 'high'])
    ).stdout.trim()
    const text = await p.ok(['inbox', 'agent-b'])
    expect(text.stdout).toMatch(/^2 message\(s\) waiting for agent-b \(not claimed\):\n/)
    expect(text.stdout.indexOf(urgent)).toBeLessThan(text.stdout.indexOf(first))
    expect(text.stdout).toContain('"Urgent" [high]  queued  attempt 0/3')
    const json = await p.json<{ agent: string; count: number; pending: { message: { id: string } }[] }>([
      'inbox',
      'agent-b',
    ])
    expect(json).toMatchObject({ agent: 'agent-b', count: 2 })
    expect(json.pending.map((x) => x.message.id)).toEqual([urgent, first])
    // Nothing was claimed: poll still gets both.
    expect((await p.json<{ count: number }>(['poll', 'agent-b'])).count).toBe(2)
    expect((await p.ok(['inbox', 'agent-b'])).stdout).toContain('leased until')
  })

  it('says so when nothing waits, and exits 3 for an unknown agent', async () => {
    const p = project()
    await registerAgents(p, 'agent-b')
    expect((await p.ok(['inbox', 'agent-b'])).stdout).toBe('No messages waiting for agent-b\n')
    expect((await p.run(['inbox', 'nobody'])).code).toBe(3)
  })
})

describe('ack --stdin', () => {
  it('acknowledges every message of poll --json output, each with its receipt', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    for (const body of ['one', 'two', 'three']) await p.ok(['send', 'agent-a', 'agent-b', body])
    const polled = await p.ok(['poll', 'agent-b', '--json'])
    // Empty stdin: nothing to acknowledge.
    expect(await p.json(['ack', '--stdin'])).toEqual({ count: 0, acked: [], failed: [] })
    const run = await p.run(['ack', '--stdin', '--json'], { input: polled.stdout })
    expect(run.code, run.stdout).toBe(0)
    const result = JSON.parse(run.stdout) as { count: number; failed: unknown[] }
    expect(result).toMatchObject({ count: 3, failed: [] })
    expect((await p.json<{ count: number }>(['inbox', 'agent-b'])).count).toBe(0)
    // The lines of poll --follow --json are read the same way; a second ack is harmless.
    const lines = (JSON.parse(polled.stdout) as { messages: unknown[] }).messages
      .map((m) => JSON.stringify(m))
      .join('\n')
    const again = await p.run(['ack', '--stdin'], { input: lines })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout.match(/was already acknowledged by agent-b/g)).toHaveLength(3)
  })

  it('acks what it can and exits 4 when a lease was lost, reporting which', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    await p.ok(['send', 'agent-a', 'agent-b', 'one'])
    await p.ok(['send', 'agent-a', 'agent-b', 'two'])
    const polled = await p.ok(['poll', 'agent-b', '--json'])
    const [lost, kept] = (JSON.parse(polled.stdout) as { messages: Claimed[] }).messages
    // Handed back and claimed again: the first receipt no longer holds.
    await p.ok(['nack', lost!.message.id, 'agent-b', '--reason', 'retry', '--delay', '0'])
    await p.ok(['poll', 'agent-b', '--limit', '1'])
    const run = await p.run(['ack', '--stdin', '--json'], { input: polled.stdout })
    expect(run.code).toBe(4)
    const result = JSON.parse(run.stdout) as {
      count: number
      failed: { messageId: string; error: { code: string } }[]
    }
    expect(result.count).toBe(1)
    expect(result.failed).toEqual([
      expect.objectContaining({
        messageId: lost!.message.id,
        agent: 'agent-b',
        error: expect.objectContaining({ code: 'LEASE_LOST' }),
      }),
    ])
    expect(kept).toBeDefined()
  })

  it('refuses input that is not poll output, and message ids with --stdin (exit 2)', async () => {
    const p = project()
    const garbage = await p.run(['ack', '--stdin'], { input: 'msg_1 msg_2' })
    expect(garbage.code).toBe(2)
    expect(garbage.stderr).toContain('agent-comm poll <agent> --json | agent-comm ack --stdin')
    expect((await p.run(['ack', 'msg_1', 'agent-b', '--stdin'])).code).toBe(2)
    expect((await p.run(['ack', 'msg_1'])).code).toBe(2)
  })
})

describe('extend', () => {
  it('extends the lease of a claimed message, and exits 4 once the lease is gone', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    await p.ok(['send', 'agent-a', 'agent-b', 'slow work'])
    const polled = await p.json<{ messages: Claimed[] }>(['poll', 'agent-b', '--lease-seconds', '30'])
    const claimed = polled.messages[0]!
    const extended = await p.json<{ messageId: string; recipient: string; leaseUntil: string }>([
      'extend',
      claimed.message.id,
      'agent-b',
      '--lease-seconds',
      '3600',
      '--receipt',
      claimed.lease.receipt,
    ])
    expect(extended).toMatchObject({ messageId: claimed.message.id, recipient: 'agent-b' })
    expect(Date.parse(extended.leaseUntil)).toBeGreaterThan(Date.parse(claimed.lease.leaseUntil))
    const text = await p.ok(['extend', claimed.message.id, 'agent-b'])
    expect(text.stdout).toMatch(new RegExp(`^Lease of ${claimed.message.id} for agent-b extended until `))
    await p.ok(['ack', claimed.message.id, 'agent-b'])
    expect((await p.run(['extend', claimed.message.id, 'agent-b'])).code).toBe(4)
    expect((await p.run(['extend', claimed.message.id, 'agent-b', '--lease-seconds', '0'])).code).toBe(2)
  })
})
