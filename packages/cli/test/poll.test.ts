import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { createDatabase, project, registerAgents, spawnCli } from './helpers.js'

interface Claimed {
  message: { id: string; fromAgent: string; subject: string; body: string }
  lease: { recipient: string; attempt: number; maxAttempts: number; leaseUntil: string; receipt: string }
}

describe('poll', () => {
  it('prints claimed messages in the original format', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'reviewer', 'builder')
    const first = (
      await p.ok([
        'send',
        'architect',
        'builder',
        'Please implement user authentication...',
        '-s',
        'Task: Auth Module',
      ])
    ).stdout.trim()
    const second = (
      await p.ok(['send', 'reviewer', 'builder', 'Please review PR #123...', '-s', 'Code Review Request'])
    ).stdout.trim()
    const run = await p.ok(['poll', 'builder'])
    const lines = run.stdout.split('\n')
    expect(lines[0]).toBe('Found 2 message(s) for builder:')
    expect(run.stdout).toContain(
      `  ID: ${first}\n  From: architect\n  Subject: Task: Auth Module\n  Priority: normal\n`,
    )
    expect(run.stdout).toContain(`  ID: ${second}\n  From: reviewer\n  Subject: Code Review Request\n`)
    expect(run.stdout).toMatch(
      / {2}Attempt: 1\/3\n {2}Lease until: \S+\n {2}Receipt: \S+\n {2}Body: Please implement user authentication\.\.\.\n/,
    )
  })

  it('returns the messages with their leases as JSON', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const id = (await p.ok(['send', 'agent-a', 'agent-b', 'hi', '--priority', 'critical'])).stdout.trim()
    const before = Date.now()
    const out = await p.json<{ agent: string; count: number; messages: Claimed[] }>([
      'poll',
      'agent-b',
      '--lease-seconds',
      '120',
    ])
    expect(out.agent).toBe('agent-b')
    expect(out.count).toBe(1)
    expect(out.messages[0]?.message).toMatchObject({ id, fromAgent: 'agent-a', body: 'hi' })
    expect(out.messages[0]?.lease).toMatchObject({ recipient: 'agent-b', attempt: 1, maxAttempts: 3 })
    // The lease starts while the command runs, however long a busy machine makes that take.
    const leaseUntil = Date.parse(out.messages[0]!.lease.leaseUntil)
    expect(leaseUntil).toBeGreaterThanOrEqual(before + 120_000)
    expect(leaseUntil).toBeLessThanOrEqual(Date.now() + 120_000)
  })

  it('claims at most --limit messages, most urgent first', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    await p.ok(['send', 'agent-a', 'agent-b', 'low one', '--priority', 'low'])
    await p.ok(['send', 'agent-a', 'agent-b', 'critical one', '--priority', 'critical'])
    const out = await p.json<{ messages: Claimed[] }>(['poll', 'agent-b', '--limit', '1'])
    expect(out.messages.map((m) => m.message.body)).toEqual(['critical one'])
  })

  it('says so when there is nothing to claim', async () => {
    const p = project()
    await registerAgents(p, 'agent-a')
    expect((await p.ok(['poll', 'agent-a'])).stdout).toBe('No messages for agent-a.\n')
  })

  it('fails with exit code 3 for an unregistered agent', async () => {
    const p = project()
    await createDatabase(p)
    const run = await p.run(['poll', 'ghost'])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain(
      "Error: Agent 'ghost' not registered\nRegister it first: agent-comm register ghost",
    )
  })

  it('refuses --limit 0 and a negative --wait with exit code 2', async () => {
    const p = project()
    await registerAgents(p, 'agent-a')
    const limit = await p.run(['poll', 'agent-a', '--limit', '0'])
    expect(limit.code).toBe(2)
    expect(limit.stderr).toMatch(/^Error: Invalid --limit: Expected an integer greater than or equal to 1/)
    const wait = await p.run(['poll', 'agent-a', '--wait', '-1'])
    expect(wait.code).toBe(2)
  })

  it('with --wait returns as soon as another process sends, well before the wait runs out', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    // A wait far longer than the test's own timeout: a poll that returns the message at all was woken by the
    // send, with no assertion on how fast a busy machine managed it.
    const poll = spawnCli(['poll', 'builder', '--wait', '3600'], { cwd: p.dir, env: p.env })
    let stdout = ''
    let stderr = ''
    let outputAt = 0
    poll.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      outputAt ||= performance.now()
      stdout += chunk
    })
    const waiting = new Promise<void>((resolve) => {
      poll.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
        if (stderr.includes('Waiting up to 3600s')) resolve()
      })
    })
    const exited = once(poll, 'close')
    await waiting

    const send = spawnCli(['send', 'architect', 'builder', 'wake up', '-s', 'Ping'], {
      cwd: p.dir,
      env: p.env,
    })
    let id = ''
    let committedAt = 0
    send.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      // send prints the id once the message is committed.
      committedAt ||= performance.now()
      id += chunk
    })
    await once(send, 'exit')
    const sentAt = performance.now()
    const [code] = await exited

    // For the log only (negative: the poll had answered before the send process was even gone).
    const latencyMs = Math.round(outputAt - sentAt)
    console.log(
      `poll --wait latency: poll output ${latencyMs} ms after the send process exited (${Math.round(outputAt - committedAt)} ms after send printed the id)`,
    )
    expect(code).toBe(0)
    expect(stdout).toContain(`ID: ${id.trim()}`)
  })

  it('with --wait and no message returns empty when the wait runs out', async () => {
    const p = project()
    await registerAgents(p, 'agent-a')
    const out = await p.json<{ count: number }>(['poll', 'agent-a', '--wait', '0.3'])
    expect(out.count).toBe(0)
  })

  it('with --follow --json streams one JSON document per line until SIGTERM', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const first = (await p.ok(['send', 'agent-a', 'agent-b', 'one'])).stdout.trim()
    const follow = spawnCli(['poll', 'agent-b', '--follow', '--json'], { cwd: p.dir, env: p.env })
    const lines: Claimed[] = []
    let buffer = ''
    let onLine: (() => void) | undefined
    follow.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk
      let newline = buffer.indexOf('\n')
      while (newline >= 0) {
        lines.push(JSON.parse(buffer.slice(0, newline)) as Claimed)
        buffer = buffer.slice(newline + 1)
        newline = buffer.indexOf('\n')
        onLine?.()
      }
    })
    const lineCount = (n: number) =>
      new Promise<void>((resolve) => {
        onLine = () => lines.length >= n && resolve()
        onLine()
      })
    const exited = once(follow, 'close')

    await lineCount(1)
    const second = (await p.ok(['send', 'agent-a', 'agent-b', 'two'])).stdout.trim()
    await lineCount(2)
    follow.kill('SIGTERM')
    const [code] = await exited

    expect(code).toBe(0)
    expect(lines.map((l) => l.message.id)).toEqual([first, second])
    expect(lines[1]?.lease).toMatchObject({ recipient: 'agent-b', attempt: 1 })
    expect(buffer).toBe('')
  })

  it('with --follow prints message blocks and stops cleanly on SIGINT', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    await p.ok(['send', 'agent-a', 'agent-b', 'hello follower', '-s', 'Hi'])
    const follow = spawnCli(['poll', 'agent-b', '--follow'], { cwd: p.dir, env: p.env })
    let stdout = ''
    const got = new Promise<void>((resolve) => {
      follow.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk
        if (stdout.includes('Body: hello follower')) resolve()
      })
    })
    const exited = once(follow, 'close')
    await got
    follow.kill('SIGINT')
    const [code] = await exited
    expect(code).toBe(0)
    expect(stdout).toContain('  From: agent-a\n  Subject: Hi\n')
  })
})
