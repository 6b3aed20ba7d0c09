import { describe, expect, it } from 'vitest'
import { type Project, project, registerAgents } from './helpers.js'

interface Claimed {
  message: { id: string }
  lease: { receipt: string; attempt: number }
}

/** Sends one message from agent-a to agent-b and claims it as agent-b. */
async function claimOne(p: Project, leaseSeconds?: number): Promise<Claimed> {
  await registerAgents(p, 'agent-a', 'agent-b')
  await p.ok(['send', 'agent-a', 'agent-b', 'work', '-s', 'Job'])
  const lease = leaseSeconds === undefined ? [] : ['--lease-seconds', String(leaseSeconds)]
  const out = await p.json<{ messages: Claimed[] }>(['poll', 'agent-b', ...lease])
  return out.messages[0]!
}

describe('ack', () => {
  it('acknowledges a claimed message', async () => {
    const p = project()
    const claimed = await claimOne(p)
    const run = await p.ok(['ack', claimed.message.id, 'agent-b'])
    expect(run.stdout).toBe(`Acknowledged ${claimed.message.id} for agent-b\n`)
    const status = await p.json<{ deliveries: { status: string }[] }>(['status', claimed.message.id])
    expect(status.deliveries[0]?.status).toBe('acked')
  })

  it('reports the ack as JSON, and a second ack as already acked', async () => {
    const p = project()
    const claimed = await claimOne(p)
    const args = ['ack', claimed.message.id, 'agent-b', '--receipt', claimed.lease.receipt]
    expect(await p.json(args)).toEqual({
      messageId: claimed.message.id,
      recipient: 'agent-b',
      status: 'acked',
      alreadyAcked: false,
    })
    expect(await p.json(args)).toMatchObject({ alreadyAcked: true })
    expect((await p.ok(args)).stdout).toBe(
      `Message ${claimed.message.id} was already acknowledged by agent-b\n`,
    )
  })

  it('fails with exit code 3 for an unknown message', async () => {
    const p = project()
    await registerAgents(p, 'agent-b')
    const run = await p.run(['ack', 'msg_unknown', 'agent-b'])
    expect(run.code).toBe(3)
    expect(run.stderr).toBe(
      "Error: Message 'msg_unknown' was not sent to agent 'agent-b'\nCheck the id: 'agent-b' has no delivery of it (it was never sent to 'agent-b', or it expired and was cleaned up). Messages sent to it: agent-comm search --to agent-b\n",
    )
  })

  it('fails with exit code 3 for a message that was not sent to the agent', async () => {
    const p = project()
    const claimed = await claimOne(p)
    const run = await p.run(['ack', claimed.message.id, 'agent-a', '--json'])
    expect(run.code).toBe(3)
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'DELIVERY_NOT_FOUND' } })
  })

  it('fails with exit code 4 for a stale receipt, naming the live lease it does not match', async () => {
    const p = project()
    const first = await claimOne(p)
    await p.ok(['nack', first.message.id, 'agent-b', '--reason', 'retry', '--delay', '0'])
    const again = await p.json<{ messages: Claimed[] }>(['poll', 'agent-b'])
    expect(again.messages[0]?.lease.attempt).toBe(2)
    const run = await p.run(['ack', first.message.id, 'agent-b', '--receipt', first.lease.receipt])
    expect(run.code).toBe(4)
    expect(run.stderr).toMatch(
      /^Error: Wrong receipt for message '.*': 'agent-b' holds a live lease on it \(attempt 2/,
    )
    expect(run.stderr).toContain('A receipt of an earlier attempt is stale')
    const json = await p.run(['ack', first.message.id, 'agent-b', '--receipt', first.lease.receipt, '--json'])
    expect(json.code).toBe(4)
    expect(JSON.parse(json.stdout).error.code).toBe('INVALID_STATE')
  })

  it('says a wrong receipt is wrong while the lease is live, for ack, nack and extend alike', async () => {
    const p = project()
    const claimed = await claimOne(p)
    for (const command of [['ack'], ['nack', '--reason', 'x'], ['extend']]) {
      const [name, ...flags] = command
      const run = await p.run([
        name!,
        claimed.message.id,
        'agent-b',
        ...flags,
        '--receipt',
        'wrong.1',
        '--json',
      ])
      expect(run.code).toBe(4)
      expect(JSON.parse(run.stdout).error).toMatchObject({
        code: 'INVALID_STATE',
        message: expect.stringMatching(/^Wrong receipt .*'agent-b' holds a live lease on it \(attempt 1/),
      })
    }
    // The lease was not touched: its own receipt still acks the message.
    await p.ok(['ack', claimed.message.id, 'agent-b', '--receipt', claimed.lease.receipt])
  })

  it('says a receipt cannot match a message that was never claimed', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const id = (await p.ok(['send', 'agent-a', 'agent-b', 'work'])).stdout.trim()
    const run = await p.run(['ack', id, 'agent-b', '--receipt', 'wrong.1'])
    expect(run.code).toBe(4)
    expect(run.stderr).toContain('is queued and has never been claimed')
  })
})

describe('ack of several ids', () => {
  /** Sends `count` messages from agent-a to agent-b and claims them as agent-b. */
  async function claimSome(p: Project, count: number): Promise<Claimed[]> {
    await registerAgents(p, 'agent-a', 'agent-b')
    for (let i = 0; i < count; i++) await p.ok(['send', 'agent-a', 'agent-b', `work ${i}`, '-s', 'Job'])
    const out = await p.json<{ messages: Claimed[] }>(['poll', 'agent-b', '--limit', String(count)])
    expect(out.messages).toHaveLength(count)
    return out.messages
  }

  it('acknowledges every id given after the agent', async () => {
    const p = project()
    const [first, second, third] = (await claimSome(p, 3)).map((claimed) => claimed.message.id)
    const run = await p.ok(['ack', first!, 'agent-b', second!, third!])
    expect(run.stdout).toBe([first, second, third].map((id) => `Acknowledged ${id} for agent-b\n`).join(''))
    for (const id of [first, second, third]) {
      const status = await p.json<{ deliveries: { status: string }[] }>(['status', id!])
      expect(status.deliveries[0]?.status).toBe('acked')
    }
  })

  it('tries them all, reports {count, acked, failed} and exits with the code of the first failure', async () => {
    const p = project()
    const [first, second] = (await claimSome(p, 2)).map((claimed) => claimed.message.id)
    const run = await p.run(['ack', first!, 'agent-b', 'msg_unknown', second!, '--json'])
    expect(run.code).toBe(3)
    const out = JSON.parse(run.stdout)
    expect(out).toMatchObject({
      count: 2,
      acked: [
        { messageId: first, recipient: 'agent-b', alreadyAcked: false },
        { messageId: second, recipient: 'agent-b', alreadyAcked: false },
      ],
      failed: [{ messageId: 'msg_unknown', agent: 'agent-b', error: { code: 'DELIVERY_NOT_FOUND' } }],
    })
    const text = await p.run(['ack', 'msg_unknown', 'agent-b', first!])
    expect(text.code).toBe(3)
    expect(text.stdout).toBe(`Message ${first} was already acknowledged by agent-b\n`)
    expect(text.stderr).toMatch(
      /^msg_unknown: Error: Message 'msg_unknown' was not sent to agent 'agent-b'\n/,
    )
  })

  it('refuses --receipt with several ids, before acking any', async () => {
    const p = project()
    const [first, second] = await claimSome(p, 2)
    const args = ['ack', first!.message.id, 'agent-b', second!.message.id, '--receipt', first!.lease.receipt]
    const run = await p.run(args)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--receipt belongs to one claim')
    const status = await p.json<{ deliveries: { status: string }[] }>(['status', first!.message.id])
    expect(status.deliveries[0]?.status).toBe('leased')
  })
})

describe('nack', () => {
  it('requeues a message with the reason as its last error', async () => {
    const p = project()
    const claimed = await claimOne(p)
    const run = await p.ok([
      'nack',
      claimed.message.id,
      'agent-b',
      '--reason',
      'Build server unreachable',
      '--delay',
      '0',
    ])
    expect(run.stdout).toMatch(
      new RegExp(`^Requeued ${claimed.message.id} for agent-b \\(attempt 1/3, available at \\S+\\)\\n$`),
    )
    const status = await p.json<{ deliveries: { status: string; lastError: string }[] }>([
      'status',
      claimed.message.id,
    ])
    expect(status.deliveries[0]).toMatchObject({ status: 'queued', lastError: 'Build server unreachable' })
  })

  it('reports the nack as JSON', async () => {
    const p = project()
    const claimed = await claimOne(p)
    const before = Date.now()
    const out = await p.json([
      'nack',
      claimed.message.id,
      'agent-b',
      '--reason',
      'later',
      '--delay',
      '60',
      '--receipt',
      claimed.lease.receipt,
    ])
    expect(out).toMatchObject({
      messageId: claimed.message.id,
      recipient: 'agent-b',
      status: 'queued',
      attempt: 1,
      maxAttempts: 3,
    })
    // The delay starts while the command runs, however long a busy machine makes that take.
    expect(Date.parse(out.availableAt as string)).toBeGreaterThanOrEqual(before + 60_000)
    expect(Date.parse(out.availableAt as string)).toBeLessThanOrEqual(Date.now() + 60_000)
  })

  it('dead-letters at once with --dead-letter', async () => {
    const p = project()
    const claimed = await claimOne(p)
    const run = await p.ok([
      'nack',
      claimed.message.id,
      'agent-b',
      '--reason',
      'cannot do this',
      '--dead-letter',
    ])
    expect(run.stdout).toContain(`Dead-lettered ${claimed.message.id} for agent-b`)
  })

  it('requires --reason', async () => {
    const p = project()
    const claimed = await claimOne(p)
    const run = await p.run(['nack', claimed.message.id, 'agent-b'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('Missing required flag reason')
  })

  it('fails with exit code 4 for an acked message', async () => {
    const p = project()
    const claimed = await claimOne(p)
    await p.ok(['ack', claimed.message.id, 'agent-b'])
    const run = await p.run(['nack', claimed.message.id, 'agent-b', '--reason', 'too late'])
    expect(run.code).toBe(4)
    expect(run.stderr).toBe(
      `Error: Message '${claimed.message.id}' was already acked by 'agent-b'; a nack cannot bring it back\n`,
    )
    const json = await p.run(['nack', claimed.message.id, 'agent-b', '--reason', 'too late', '--json'])
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'INVALID_STATE',
        message: `Message '${claimed.message.id}' was already acked by 'agent-b'; a nack cannot bring it back`,
        hint: null,
      },
    })
  })

  it('fails with exit code 3 for an unknown message', async () => {
    const p = project()
    await registerAgents(p, 'agent-b')
    const run = await p.run(['nack', 'msg_unknown', 'agent-b', '--reason', 'x'])
    expect(run.code).toBe(3)
  })
})
