import { describe, expect, it } from 'vitest'
import { createDatabase, project, registerAgents } from './helpers.js'

describe('status', () => {
  it('shows the message and every delivery', async () => {
    const p = project()
    await registerAgents(p, 'lead')
    await p.ok(['register', 'r1', '-c', 'review', '-d', 'l'])
    await p.ok(['register', 'r2', '-c', 'review', '-d', 'l'])
    const id = (
      await p.ok(['send', 'lead', 'capability:review', 'Please review', '-s', 'PR #1'])
    ).stdout.trim()
    await p.ok(['poll', 'r1'])
    const run = await p.ok(['status', id])
    expect(run.stdout).toContain(`Message ${id}\n  From: lead\n  To: capability:review\n  Subject: PR #1\n`)
    expect(run.stdout).toContain('Deliveries (2):')
    expect(run.stdout).toMatch(/ {2}r1 {2}leased {2}attempt 1\/3 {2}lease until \S+/)
    expect(run.stdout).toMatch(/ {2}r2 {2}queued {2}attempt 0\/3/)
    const out = await p.json<{ message: { id: string }; deliveries: Record<string, unknown>[] }>([
      'status',
      id,
    ])
    expect(out.message.id).toBe(id)
    expect(out.deliveries).toHaveLength(2)
    expect(Object.keys(out.deliveries[0]!).sort()).toEqual(
      [
        'ackedAt',
        'attempt',
        'availableAt',
        'createdAt',
        'lastError',
        'leaseUntil',
        'maxAttempts',
        'recipient',
        'status',
        'updatedAt',
      ].sort(),
    )
  })

  it('fails with exit code 3 for an unknown message', async () => {
    const p = project()
    await createDatabase(p)
    const run = await p.run(['status', 'msg_nope', '--json'])
    expect(run.code).toBe(3)
    expect(JSON.parse(run.stdout).error.code).toBe('MESSAGE_NOT_FOUND')
  })
})

describe('conversations and conversation', () => {
  it('lists threads and shows one thread oldest first', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const task = await p.json<{ messageId: string; conversationId: string }>([
      'send',
      'architect',
      'builder',
      'Build auth',
      '-s',
      'Task: Auth',
    ])
    await p.ok(['send', 'builder', 'architect', 'Done, PR #456', '--reply-to', task.messageId])
    await p.ok(['send', 'architect', 'builder', 'Unrelated', '-s', 'Other'])

    const list = await p.json<{ count: number; conversations: Record<string, unknown>[] }>(['conversations'])
    expect(list.count).toBe(2)
    expect(list.conversations).toContainEqual(
      expect.objectContaining({
        conversationId: task.conversationId,
        subject: 'Task: Auth',
        messageCount: 2,
        participants: ['architect', 'builder'],
      }),
    )
    const human = await p.ok(['conversations', '--limit', '1'])
    expect(human.stdout).toMatch(
      /^Conversations \(1\):\n {2}conv_\S+ "Other" 1 message\(s\) participants=\['architect', 'builder'\] last=\S+\n$/,
    )

    const thread = await p.ok(['conversation', task.conversationId])
    expect(thread.stdout).toContain(`Conversation ${task.conversationId} (2 message(s)):`)
    expect(thread.stdout.indexOf('"Task: Auth"')).toBeLessThan(thread.stdout.indexOf('"Re: Task: Auth"'))
    expect(thread.stdout).toContain('      Done, PR #456')
    const json = await p.json<{ conversationId: string; count: number; messages: { subject: string }[] }>([
      'conversation',
      task.conversationId,
    ])
    expect(json.count).toBe(2)
    expect(json.messages.map((m) => m.subject)).toEqual(['Task: Auth', 'Re: Task: Auth'])
  })

  it('filters conversations by agent', async () => {
    const p = project()
    await registerAgents(p, 'a', 'b', 'c')
    await p.ok(['send', 'a', 'b', 'ab'])
    await p.ok(['send', 'b', 'c', 'bc'])
    const out = await p.json<{ count: number }>(['conversations', '--agent', 'c'])
    expect(out.count).toBe(1)
    expect((await p.ok(['conversations', '--agent', 'nobody'])).stdout).toBe('No conversations.\n')
  })

  it('fails with exit code 3 for an unknown conversation', async () => {
    const p = project()
    await createDatabase(p)
    const run = await p.run(['conversation', 'conv_nope'])
    expect(run.code).toBe(3)
    expect(run.stderr).toMatch(/^Error: Conversation 'conv_nope' not found/)
  })
})

describe('search', () => {
  it('finds messages by words, sender, recipient, conversation and time', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder', 'reviewer')
    const auth = await p.json<{ messageId: string; conversationId: string }>([
      'send',
      'architect',
      'builder',
      'Implement JWT authentication',
      '-s',
      'Auth',
    ])
    await p.ok(['send', 'reviewer', 'builder', 'Please review the login page', '-s', 'Review'])

    const byText = await p.json<{ count: number; messages: { id: string }[] }>(['search', 'authentication'])
    expect(byText.messages.map((m) => m.id)).toEqual([auth.messageId])
    expect((await p.json<{ count: number }>(['search', '--from', 'reviewer'])).count).toBe(1)
    expect((await p.json<{ count: number }>(['search', '--to', 'builder'])).count).toBe(2)
    expect((await p.json<{ count: number }>(['search', '--conversation', auth.conversationId])).count).toBe(1)
    expect((await p.json<{ count: number }>(['search', '--since', '2h'])).count).toBe(2)
    expect((await p.json<{ count: number }>(['search', '--since', '2099-01-01T00:00:00Z'])).count).toBe(0)
    expect((await p.json<{ count: number }>(['search', '--limit', '1'])).count).toBe(1)

    const human = await p.ok(['search', 'review', '--from', 'reviewer'])
    expect(human.stdout).toMatch(
      /^Found 1 message\(s\):\n {2}\S+ msg_\S+ reviewer -> builder "Review" \[normal\]\n$/,
    )
    expect((await p.ok(['search', 'nothing-matches-this'])).stdout).toBe('No messages found.\n')
  })

  it('refuses a --since that is neither a time nor a duration with exit code 2', async () => {
    const p = project()
    const run = await p.run(['search', '--since', 'yesterday'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^Error: Invalid --since: expected an ISO time/)
  })
})

describe('stats', () => {
  it('prints JSON statistics even without --json', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const id = (await p.ok(['send', 'agent-a', 'agent-b', 'one'])).stdout.trim()
    await p.ok(['send', 'agent-a', 'agent-b', 'two'])
    await p.ok(['poll', 'agent-b', '--limit', '1'])
    await p.ok(['ack', id, 'agent-b'])
    const run = await p.ok(['stats'])
    const stats = JSON.parse(run.stdout)
    expect(stats).toMatchObject({
      totalMessages: 2,
      deliveries: { queued: 1, leased: 0, acked: 1, failed: 0, expired: 0 },
      failedRate: 0,
      agents: { 'agent-b': { queued: 1, leased: 0, failed: 0 } },
      registeredAgents: { active: 2, inactive: 0, offline: 0 },
    })
    expect(stats.verify).toBeUndefined()
    expect(stats.oldestQueuedAgeMs).toBeGreaterThanOrEqual(0)
    const json = await p.json<typeof stats>(['stats'])
    expect({ ...json, oldestQueuedAgeMs: 0 }).toEqual({ ...stats, oldestQueuedAgeMs: 0 })
  })

  it('runs the integrity checks with --verify', async () => {
    const p = project()
    await registerAgents(p, 'agent-a')
    const out = await p.json<{ verify: { ok: boolean; problems: string[]; checks: string[] } }>([
      'stats',
      '--verify',
    ])
    expect(out.verify.ok).toBe(true)
    expect(out.verify.problems).toEqual([])
    expect(out.verify.checks).toContain('PRAGMA integrity_check')
  })
})

describe('cleanup', () => {
  it('counts with --dry-run and removes expired messages', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    await p.ok(['send', 'agent-a', 'agent-b', 'short-lived', '--ttl-hours', '0.0001'])
    // The CLI runs on the real clock: let the 360 ms TTL (0.0001 h) run out.
    await new Promise((resolve) => setTimeout(resolve, 600))
    const dry = await p.ok(['cleanup', '--dry-run'])
    expect(dry.stdout).toBe('Would remove 1 expired message(s) and 0 acked message(s) (1 deliveries)\n')
    // Kept while it expired less than a week ago.
    expect(await p.json(['cleanup', '--expired-older-than', '7d'])).toMatchObject({ expiredMessages: 0 })
    expect(await p.json(['cleanup'])).toEqual({
      dryRun: false,
      expiredMessages: 1,
      ackedMessages: 0,
      deliveries: 1,
    })
    expect(await p.json(['cleanup'])).toMatchObject({ expiredMessages: 0 })
  })

  it('removes long-acked messages with --acked-older-than', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const id = (await p.ok(['send', 'agent-a', 'agent-b', 'done soon'])).stdout.trim()
    await p.ok(['poll', 'agent-b'])
    await p.ok(['ack', id, 'agent-b'])
    expect(await p.json(['cleanup', '--acked-older-than', '7d'])).toMatchObject({ ackedMessages: 0 })
    // Real clock again: make the ack at least a millisecond old.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await p.json(['cleanup', '--acked-older-than', '1ms'])).toMatchObject({ ackedMessages: 1 })
  })

  it('refuses a duration without a unit with exit code 2', async () => {
    const p = project()
    const run = await p.run(['cleanup', '--acked-older-than', '7'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(
      /^Error: Invalid --acked-older-than: expected a duration like 30m, 12h or 7d, got '7'/,
    )
  })
})
