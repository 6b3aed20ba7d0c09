import { describe, expect, it } from 'vitest'
import { project, registerAgents } from './helpers.js'

const ID = /^msg_[0-9A-Z]+$/

describe('send', () => {
  it('prints only the new message id when stdout is not a terminal', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const run = await p.ok(['send', 'agent-a', 'agent-b', 'Hello from A!', '-s', 'Greeting'])
    expect(run.stdout).toMatch(/^msg_[0-9A-Z]+\n$/)
    expect(run.stderr).toBe('')
    const status = await p.json<{ message: Record<string, unknown> }>(['status', run.stdout.trim()])
    expect(status.message).toMatchObject({
      fromAgent: 'agent-a',
      toAgent: 'agent-b',
      subject: 'Greeting',
      body: 'Hello from A!',
    })
  })

  it('sends once per --idempotency-key: a retry prints the first id and queues nothing', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const first = await p.json<{ messageId: string; duplicate: boolean }>([
      'send',
      'agent-a',
      'agent-b',
      'deploy',
      '--idempotency-key',
      'deploy-7',
    ])
    const retry = await p.json<{ messageId: string; duplicate: boolean; deliveries: number }>([
      'send',
      'agent-a',
      'agent-b',
      'deploy',
      '--idempotency-key',
      'deploy-7',
    ])
    expect(first.duplicate).toBe(false)
    expect(retry).toMatchObject({ messageId: first.messageId, duplicate: true, deliveries: 0 })
  })

  it('prints only the id with --quiet', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    expect((await p.ok(['send', 'agent-a', 'agent-b', 'hi', '-q'])).stdout).toMatch(/^msg_[0-9A-Z]+\n$/)
  })

  it('reports the send as JSON with --json', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const out = await p.json<Record<string, unknown> & { message: Record<string, unknown> }>([
      'send',
      'agent-a',
      'agent-b',
      'Implement auth',
      '-s',
      'Task',
      '--priority',
      'high',
      '--payload-type',
      'task_assignment',
      '--payload',
      '{"feature":"auth"}',
      '--metadata',
      '{"ticket":42}',
      '--ttl-hours',
      '2',
    ])
    expect(out).toMatchObject({
      recipients: ['agent-b'],
      deliveries: 1,
      duplicate: false,
      routes: [{ transport: 'sqlite', recipients: ['agent-b'] }],
    })
    expect(out.messageId).toMatch(ID)
    expect(out.conversationId).toMatch(/^conv_/)
    expect(out.message).toMatchObject({
      id: out.messageId,
      priority: 'high',
      payload: { type: 'task_assignment', data: { feature: 'auth' } },
      metadata: { ticket: 42 },
      routing: { conversationId: out.conversationId, ttlHours: 2 },
    })
  })

  it('reads the body from stdin when it is -', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const id = (
      await p.ok(['send', 'agent-a', 'agent-b', '-', '-s', 'diff'], { input: 'line 1\nline 2\n' })
    ).stdout.trim()
    const status = await p.json<{ message: { body: string } }>(['status', id])
    expect(status.message.body).toBe('line 1\nline 2')
  })

  it('accepts urgent as an alias of critical', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const out = await p.json<{ message: { priority: string } }>([
      'send',
      'agent-a',
      'agent-b',
      'fire',
      '--priority',
      'urgent',
    ])
    expect(out.message.priority).toBe('critical')
  })

  it('threads a --reply-to into the original conversation', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder', 'reviewer')
    const task = await p.json<{ messageId: string; conversationId: string }>([
      'send',
      'architect',
      'builder',
      'Build it',
      '-s',
      'Task: Auth',
    ])
    const reply = await p.json<{
      conversationId: string
      message: { subject: string; toAgent: string; routing: { replyTo: string } }
    }>(['send', 'builder', 'architect', 'Done', '--reply-to', task.messageId])
    expect(reply.conversationId).toBe(task.conversationId)
    expect(reply.message).toMatchObject({
      subject: 'Re: Task: Auth',
      toAgent: 'architect',
      routing: { replyTo: task.messageId },
    })
    // Answering to someone else than the original sender still joins the thread.
    const aside = await p.json<{
      conversationId: string
      message: { subject: string; routing: { replyTo: string } }
    }>(['send', 'builder', 'reviewer', 'Please review', '-s', 'Review request', '--reply-to', task.messageId])
    expect(aside.conversationId).toBe(task.conversationId)
    expect(aside.message).toMatchObject({ subject: 'Review request', routing: { replyTo: task.messageId } })
  })

  it('sends in a given --conversation', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const out = await p.json<{ conversationId: string }>([
      'send',
      'agent-a',
      'agent-b',
      'hi',
      '--conversation',
      'conv_custom_1',
    ])
    expect(out.conversationId).toBe('conv_custom_1')
  })

  it('fans a capability: send out to every agent with the capability', async () => {
    const p = project()
    await p.ok(['register', 'lead', '-c', 'plan', '-d', 'l'])
    await p.ok(['register', 'r1', '-c', 'review', '-d', 'l'])
    await p.ok(['register', 'r2', '-c', 'review', '-d', 'l'])
    const out = await p.json<{ recipients: string[]; deliveries: number }>([
      'send',
      'lead',
      'capability:review',
      'Review PR #1',
    ])
    expect(out.recipients.sort()).toEqual(['r1', 'r2'])
    expect(out.deliveries).toBe(2)
  })

  it('delays a message with --delay', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    await p.ok(['send', 'agent-a', 'agent-b', 'later', '--delay', '3600'])
    expect(await p.json(['poll', 'agent-b'])).toMatchObject({ count: 0 })
  })

  it('fails with exit code 3 and the register hint for an unregistered recipient', async () => {
    const p = project()
    await registerAgents(p, 'agent-a')
    const run = await p.run(['send', 'agent-a', 'ghost', 'hi'])
    expect(run.code).toBe(3)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      "Error: Agent 'ghost' not registered\nRegister it first: agent-comm register ghost -c <capabilities> -d <device>\n",
    )
  })

  it('sends to an unregistered recipient with --allow-unregistered', async () => {
    const p = project()
    await registerAgents(p, 'agent-a')
    const out = await p.json<{ recipients: string[] }>([
      'send',
      'agent-a',
      'ghost',
      'hi',
      '--allow-unregistered',
    ])
    expect(out.recipients).toEqual(['ghost'])
    // The recipient can poll it without registering first.
    const polled = await p.json<{ messages: { message: { body: string } }[] }>(['poll', 'ghost'])
    expect(polled.messages.map((c) => c.message.body)).toEqual(['hi'])
  })

  it('refuses a bad priority with exit code 2', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const run = await p.run(['send', 'agent-a', 'agent-b', 'hi', '--priority', 'asap'])
    expect(run.code).toBe(2)
    expect(run.stderr).toBe(
      'Error: Expected --priority=asap to be one of: critical, high, normal, low, urgent\nSee the usage: agent-comm send --help\n',
    )
  })

  it('refuses a bad --payload, --payload without a type, and a bad --ttl-hours with exit code 2', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const badJson = await p.run([
      'send',
      'agent-a',
      'agent-b',
      'hi',
      '--payload-type',
      'text',
      '--payload',
      '{',
    ])
    expect(badJson.code).toBe(2)
    expect(badJson.stderr).toMatch(/^Error: Invalid --payload: not valid JSON/)
    const untyped = await p.run(['send', 'agent-a', 'agent-b', 'hi', '--payload', '{}'])
    expect(untyped.code).toBe(2)
    expect(untyped.stderr).toContain('--payload needs --payload-type')
    const ttl = await p.run(['send', 'agent-a', 'agent-b', 'hi', '--ttl-hours', '0'])
    expect(ttl.code).toBe(2)
    expect(ttl.stderr).toMatch(/^Error: Invalid --ttl-hours: expected a positive number/)
  })

  it('refuses --reply-to an unknown message with exit code 3', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const run = await p.run(['send', 'agent-a', 'agent-b', 'hi', '--reply-to', 'msg_nope', '--json'])
    expect(run.code).toBe(3)
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'MESSAGE_NOT_FOUND' } })
  })

  it('with --queue holds a capability message nobody has yet for agents that register later', async () => {
    const p = project()
    await registerAgents(p, 'architect')
    const refused = await p.run(['send', 'architect', 'capability:security', 'Audit auth'])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain("No agent has capability 'security'")

    const sent = await p.json<{ messageId: string; deliveries: number; heldUntil: string }>([
      'send',
      'architect',
      'capability:security',
      'Audit auth',
      '--queue',
    ])
    expect(sent).toMatchObject({ deliveries: 0, heldUntil: expect.any(String) })
    const held = await p.json<{ heldUntil?: string; deliveries: unknown[] }>(['status', sent.messageId])
    expect(held).toMatchObject({ heldUntil: sent.heldUntil, deliveries: [] })

    await p.ok(['register', 'auditor', '-c', 'security', '-d', 'local'])
    await p.ok(['register', 'auditor', '-c', 'security,code', '-d', 'local'])
    const polled = await p.json<{ messages: { message: { id: string } }[] }>(['poll', 'auditor'])
    expect(polled.messages.map((m) => m.message.id)).toEqual([sent.messageId])
    // Registered twice, delivered once.
    const after = await p.json<{ deliveries: { recipient: string }[] }>(['status', sent.messageId])
    expect(after.deliveries.map((d) => d.recipient)).toEqual(['auditor'])
  })
})
