import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openCoordinator } from './helpers.js'

describe('idempotency keys through the coordinator', () => {
  it('reports a retry with the same key as the first message, whatever its id', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    const first = await coord.send(
      { fromAgent: 'architect', toAgent: 'builder', body: 'deploy' },
      { idempotencyKey: 'deploy-1' },
    )
    const retry = await coord.send(
      { fromAgent: 'architect', toAgent: 'builder', body: 'deploy' },
      { idempotencyKey: 'deploy-1' },
    )
    expect(retry).toMatchObject({ messageId: first.messageId, duplicate: true, deliveries: 0 })
    expect(retry.message).toEqual(first.message)
    expect(await coord.poll('builder', { limit: 10 })).toHaveLength(1)
  })

  it('keys replies too: a reply retried with its key is sent once', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'task' })
    const a = await coord.reply(task.message, { body: 'one' }, { idempotencyKey: `reply:${task.messageId}` })
    const b = await coord.reply(task.message, { body: 'one' }, { idempotencyKey: `reply:${task.messageId}` })
    expect(b).toMatchObject({ messageId: a.messageId, duplicate: true })
    // Another answer under the same key is refused: the first reply was kept, the second never sent.
    await expect(
      coord.reply(task.message, { body: 'two' }, { idempotencyKey: `reply:${task.messageId}` }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { idempotencyKey: `reply:${task.messageId}`, originalId: a.messageId },
    })
    expect((await coord.poll('architect', { limit: 10 })).map((c) => c.message.body)).toEqual(['one'])
  })

  it('refuses a keyed request whose question differs from the first: its wait never takes the first answer', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'builder' })
    await coord.register({ agentId: 'architect' })
    const first = await coord.send(
      { fromAgent: 'architect', toAgent: 'builder', body: 'May I deploy v2 to staging?' },
      { idempotencyKey: 'K' },
    )
    const [claimed] = await coord.poll('builder')
    await coord.reply(claimed!, { body: 'yes' })
    await expect(
      coord.request(
        { fromAgent: 'architect', toAgent: 'builder', body: 'May I DROP the production database?' },
        { idempotencyKey: 'K', timeoutMs: 1_000 },
      ),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { idempotencyKey: 'K', originalId: first.messageId },
    })
    // The same question again is the retry: it takes the first answer.
    const reply = await coord.request(
      { fromAgent: 'architect', toAgent: 'builder', body: 'May I deploy v2 to staging?' },
      { idempotencyKey: 'K', timeoutMs: 1_000 },
    )
    expect(reply.body).toBe('yes')
  })

  it('refuses an invalid key, and a key for a recipient on the file transport, which cannot keep it', async () => {
    const { coord, root } = await openCoordinator()
    await coord.register({ agentId: 'architect' })
    await coord.register({ agentId: 'debugger', transport: 'file', inboxDir: join(root, 'files') })
    await expect(
      coord.send({ fromAgent: 'architect', toAgent: 'debugger', body: 'x' }, { idempotencyKey: 'has space' }),
    ).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(
      coord.send({ fromAgent: 'architect', toAgent: 'debugger', body: 'x' }, { idempotencyKey: 'k' }),
    ).rejects.toMatchObject({ code: 'VALIDATION', issues: [{ path: 'idempotencyKey' }] })
  })
})
