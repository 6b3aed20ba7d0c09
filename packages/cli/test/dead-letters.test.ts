import { describe, expect, it } from 'vitest'
import { type Project, project, registerAgents } from './helpers.js'

/** Sends a message to agent-b, claims it and dead-letters it. */
async function deadLetter(p: Project, body = 'job'): Promise<string> {
  const id = (await p.ok(['send', 'agent-a', 'agent-b', body, '-s', 'Job'])).stdout.trim()
  await p.ok(['poll', 'agent-b'])
  await p.ok(['nack', id, 'agent-b', '--reason', 'tool crashed', '--dead-letter'])
  return id
}

describe('failed', () => {
  it('lists dead-lettered deliveries with the reason', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const id = await deadLetter(p)
    const run = await p.ok(['failed'])
    expect(run.stdout).toMatch(
      new RegExp(
        `^Failed deliveries \\(1\\):\\n {2}${id} -> agent-b attempt 1/3 "Job"\\n {6}from agent-a at \\S+; last error: tool crashed\\n$`,
      ),
    )
    const out = await p.json<{
      count: number
      failed: { message: { id: string }; delivery: Record<string, unknown> }[]
    }>(['failed', '--agent', 'agent-b'])
    expect(out.count).toBe(1)
    expect(out.failed[0]?.message.id).toBe(id)
    expect(out.failed[0]?.delivery).toMatchObject({
      recipient: 'agent-b',
      status: 'failed',
      lastError: 'tool crashed',
    })
    expect(await p.json(['failed', '--agent', 'agent-a'])).toEqual({ count: 0, failed: [] })
    expect((await p.ok(['failed', '--agent', 'agent-a'])).stdout).toBe('No failed deliveries.\n')
  })
})

describe('retry', () => {
  it('requeues a dead-lettered delivery with fresh attempts', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const id = await deadLetter(p)
    expect((await p.ok(['retry', id, 'agent-b'])).stdout).toBe(
      `Requeued 1 failed delivery of ${id} for agent-b\n`,
    )
    const again = await p.json<{ messages: { message: { id: string }; lease: { attempt: number } }[] }>([
      'poll',
      'agent-b',
    ])
    expect(again.messages[0]?.message.id).toBe(id)
    expect(again.messages[0]?.lease.attempt).toBe(1)
  })

  it('reports the retry as JSON', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const id = await deadLetter(p)
    expect(await p.json(['retry', id])).toEqual({ messageId: id, agent: null, requeued: 1 })
  })

  it('fails with exit code 4 when nothing failed, saying where the dead letters are, and 3 for an unknown message', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const id = (await p.ok(['send', 'agent-a', 'agent-b', 'fine'])).stdout.trim()
    const nothing = await p.run(['retry', id])
    expect(nothing.code).toBe(4)
    expect(nothing.stderr).toBe(
      `Error: Message '${id}' has no failed deliveries to retry\n` +
        `Only dead letters can be retried: agent-comm failed lists them; agent-comm status ${id} shows this message's deliveries.\n`,
    )
    const queued = await p.run(['retry', id, 'agent-b'])
    expect(queued.code).toBe(4)
    expect(queued.stderr).toContain('queued, not failed')
    expect(queued.stderr).toContain('Only dead letters can be retried: agent-comm failed lists them')
    const unknown = await p.run(['retry', 'msg_unknown', '--json'])
    expect(unknown.code).toBe(3)
    expect(JSON.parse(unknown.stdout).error.code).toBe('MESSAGE_NOT_FOUND')
  })
})
