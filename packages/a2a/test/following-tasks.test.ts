import { join } from 'node:path'
import { SendMessageRequest, TaskState } from '@a2a-js/sdk'
import { ManualClock } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import { describe, expect, it } from 'vitest'
import { A2ATasks, SqliteA2AStore } from '../src/index.js'

const { onCleanup, tempDir } = testCleanups('agent-comm-a2a-test-')

function request(text: string): SendMessageRequest {
  return SendMessageRequest.fromJSON({
    message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }] },
  })
}

describe('following open tasks', () => {
  it("completes a caller's task although another caller left more unanswered tasks than one pass follows", async () => {
    const clock = new ManualClock()
    const spool = await Spool.open({ path: join(tempDir(), 'relay.db'), clock })
    onCleanup(() => spool.close())
    const registry = await Registry.open({ spool })
    for (const agentId of ['helper', 'slow']) {
      await registry.register({ agentId, metadata: { a2a: { skills: [{ id: 'answer' }] } } })
    }
    const store = spool.openShared(SqliteA2AStore.shared())
    const tasks = new A2ATasks({ spool, registry, store, clock, openTasksPerTick: 3 })
    const flood = { name: 'flood', agents: undefined }
    for (const n of [1, 2, 3, 4]) {
      await tasks.send(flood, 'slow', request(`ignored ${n}`))
      clock.advance(1)
    }
    const { record } = await tasks.send({ name: 'acme', agents: undefined }, 'helper', request('answer me'))
    // helper answers acme; the flood's tasks (to an agent that never claims) stay open, and older.
    const [claimed] = await spool.claim('helper', { limit: 10 })
    await spool.send({
      fromAgent: 'helper',
      toAgent: claimed!.message.fromAgent,
      body: 'answered',
      routing: { replyTo: claimed!.message.id },
    })
    await spool.ack(claimed!.message.id, 'helper', { receipt: claimed!.lease.receipt })
    // Every open task is reached within the passes it takes to page through them all (5 tasks, 3 a pass).
    await tasks.tick()
    await tasks.tick()
    const task = await tasks.get({ name: 'acme', agents: undefined }, 'helper', record.id)
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
  })

  it('fails a task whose spool message never came (a relay stopped between the two), once it has waited long enough', async () => {
    const clock = new ManualClock()
    const spool = await Spool.open({ path: join(tempDir(), 'relay.db'), clock })
    onCleanup(() => spool.close())
    const registry = await Registry.open({ spool })
    const store = spool.openShared(SqliteA2AStore.shared())
    const tasks = new A2ATasks({ spool, registry, store, clock, lostMessageAfterMs: 60_000 })
    const now = clock.now()
    store.insertTask(
      {
        id: 't-lost',
        caller: 'acme',
        agent: 'helper',
        contextId: 'c1',
        messageId: 'msg_never_sent',
        state: 'submitted',
        task: { id: 't-lost', contextId: 'c1', status: { state: 'TASK_STATE_SUBMITTED' } },
        createdAt: now,
        updatedAt: now,
      },
      [],
    )
    const acme = { name: 'acme', agents: undefined }
    await tasks.tick()
    clock.advance(59_999)
    await tasks.tick()
    // Its message may still be on its way (another replica's send): the task waits.
    expect((await tasks.get(acme, 'helper', 't-lost')).status?.state).toBe(TaskState.TASK_STATE_SUBMITTED)
    clock.advance(1)
    await tasks.tick()
    const task = await tasks.get(acme, 'helper', 't-lost')
    expect(task.status?.state).toBe(TaskState.TASK_STATE_FAILED)
    expect(JSON.stringify(task.status?.message)).toMatch(
      /lost this task's message.*send the message again with a new messageId/,
    )
  })
})
