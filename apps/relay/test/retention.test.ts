import { join } from 'node:path'
import { SqliteA2AStore } from '@agent-comm/a2a'
import { type CleanupReport, ManualClock } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { describe, expect, it } from 'vitest'
import { RELAY_DB_FILE, relayConfig, startRelay } from '../src/index.js'
import { createRelayLogger } from '../src/logger.js'
import { startRetention } from '../src/retention.js'
import { onCleanup, tempDir } from './helpers.js'

const DAY = 86_400_000
const quiet = { info: () => undefined, warn: () => undefined }

/** A spool on a relay database of its own with a fake clock; closed after the test. */
async function openSpool(path = join(tempDir(), RELAY_DB_FILE), clock = new ManualClock()) {
  const spool = await Spool.open({ path, clock })
  onCleanup(() => spool.close())
  return { spool, clock, path }
}

/** Sends one message to `builder` (living 30 days, or `ttlHours`), claims it and acks it (or dead-letters it). */
async function delivered(spool: Spool, body: string, outcome: 'ack' | 'dead-letter' = 'ack', ttlHours = 720) {
  const sent = await spool.send({ fromAgent: 'architect', toAgent: 'builder', body, routing: { ttlHours } })
  const [claimed] = await spool.claim('builder')
  const receipt = claimed!.lease.receipt
  if (outcome === 'ack') await spool.ack(sent.messageId, 'builder', { receipt })
  else await spool.nack(sent.messageId, 'builder', { receipt, deadLetter: true })
  return sent.messageId
}

describe("the relay's retention cleanup", () => {
  it('removes acked and expired messages once the retention has passed, keeping dead letters until then', async () => {
    const { spool, clock } = await openSpool()
    const acked = await delivered(spool, 'done')
    const dead = await delivered(spool, 'gave up', 'dead-letter', 24)
    const retention = startRetention({ spool, retentionMs: 7 * DAY, logger: quiet, firstRunMs: 2 ** 30 })
    onCleanup(() => retention.stop())

    clock.advance(6 * DAY) // acked 6 days ago; the dead letter expired (24 h TTL) 5 days ago
    expect(await retention.run()).toMatchObject({ ackedMessages: 0, expiredMessages: 0 })
    clock.advance(1.5 * DAY) // acked 7.5 days ago; the dead letter expired 6.5 days ago
    expect(await retention.run()).toMatchObject({ ackedMessages: 1, expiredMessages: 0 })
    await expect(spool.status(acked)).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' })
    expect((await spool.listFailed()).map((d) => d.message.id)).toEqual([dead])
    clock.advance(DAY)
    expect(await retention.run()).toMatchObject({ expiredMessages: 1 })
    expect((await spool.stats()).totalMessages).toBe(0)
  })

  it("removes the A2A endpoint's finished tasks past the retention with their caller message ids, never open ones", async () => {
    const { spool, clock } = await openSpool()
    const store = spool.openShared(SqliteA2AStore.shared())
    for (const [id, state] of [
      ['answered', 'completed'],
      ['waiting', 'submitted'],
      ['asking', 'input-required'],
    ] as const) {
      const at = clock.now()
      await store.insertTask(
        {
          id,
          caller: 'acme',
          agent: 'helper',
          contextId: id,
          messageId: `msg-${id}`,
          state,
          task: {},
          createdAt: at,
          updatedAt: at,
        },
        [],
        undefined,
        { caller: 'acme', messageId: `m-${id}`, taskId: id, digest: 'd' },
      )
    }
    const retention = startRetention({
      spool,
      retentionMs: 7 * DAY,
      logger: quiet,
      firstRunMs: 2 ** 30,
      a2a: { store, clock },
    })
    onCleanup(() => retention.stop())
    clock.advance(6 * DAY)
    expect(await retention.run()).toMatchObject({ a2aTasks: 0, a2aCallerMessages: 0 })
    clock.advance(1.5 * DAY)
    expect(await retention.run()).toMatchObject({ a2aTasks: 1, a2aCallerMessages: 1 })
    expect(await store.getTask('answered')).toBeUndefined()
    expect(await store.sentMessage('acme', 'm-answered')).toBeUndefined()
    expect((await store.getTask('waiting'))?.state).toBe('submitted')
    expect((await store.getTask('asking'))?.state).toBe('input-required')
    expect(await store.sentMessage('acme', 'm-waiting')).toMatchObject({ taskId: 'waiting' })
  })

  it('removes a backlog of finished A2A tasks in batches of a thousand too', async () => {
    const limits: unknown[] = []
    const removed = [1000, 1000, 5]
    const store = {
      removeFinishedTasks: async (params: { limit?: number }) => {
        limits.push(params.limit)
        const tasks = removed.shift() ?? 0
        return { tasks, callerMessages: tasks }
      },
    }
    const { spool, clock } = await openSpool()
    const retention = startRetention({
      spool,
      retentionMs: DAY,
      logger: quiet,
      firstRunMs: 2 ** 30,
      a2a: { store, clock },
    })
    onCleanup(() => retention.stop())
    expect(await retention.run()).toMatchObject({ a2aTasks: 2005, a2aCallerMessages: 2005 })
    expect(limits).toEqual([1000, 1000, 1000])
  })

  it("leaves a backlog to the spool's batched cleanup, and ends it between batches when the relay stops", async () => {
    const calls: { options: unknown; signal: AbortSignal | undefined }[] = []
    let finish: (() => void) | undefined
    const spool = {
      cleanup: (options: object, control: { signal?: AbortSignal } = {}) => {
        calls.push({ options, signal: control.signal })
        return new Promise<CleanupReport>((resolve) => {
          finish = () => resolve({ dryRun: false, expiredMessages: 0, ackedMessages: 2003, deliveries: 2003 })
        })
      },
    }
    const retention = startRetention({ spool, retentionMs: DAY, logger: quiet, firstRunMs: 2 ** 30 })
    const run = retention.run()
    expect(calls).toEqual([
      { options: { ackedOlderThanMs: DAY, expiredOlderThanMs: DAY }, signal: expect.any(AbortSignal) },
    ])
    expect(calls[0]?.signal?.aborted).toBe(false)
    const stopped = retention.stop()
    expect(calls[0]?.signal?.aborted).toBe(true)
    finish!()
    await stopped
    expect(await run).toMatchObject({ ackedMessages: 2003 })
  })

  it('runs on its own, again and again, and stop waits for a run in progress', async () => {
    let runs = 0
    let finish: (() => void) | undefined
    const spool = {
      cleanup: () =>
        new Promise<{ dryRun: false; expiredMessages: 0; ackedMessages: 0; deliveries: 0 }>((resolve) => {
          runs++
          finish = () => resolve({ dryRun: false, expiredMessages: 0, ackedMessages: 0, deliveries: 0 })
          if (runs < 3) finish()
        }),
    }
    const retention = startRetention({ spool, retentionMs: DAY, logger: quiet, firstRunMs: 0, intervalMs: 1 })
    await expect.poll(() => runs, { timeout: 60_000 }).toBe(3)
    let stopped = false
    const stopping = retention.stop().then(() => {
      stopped = true
    })
    await Promise.resolve()
    expect(stopped).toBe(false)
    finish!()
    await stopping
    expect(await retention.run()).toBeUndefined() // stopped: runs no more
    expect(runs).toBe(3)
  })

  it('is started by the relay with its configured days, and logs what it removed', async () => {
    const dataDir = tempDir()
    // A message acked nine days ago, in the relay's own database.
    const { spool } = await openSpool(join(dataDir, RELAY_DB_FILE), new ManualClock(Date.now() - 9 * DAY))
    await delivered(spool, 'old news')
    await spool.close()
    const lines: string[] = []
    const logger = createRelayLogger({
      level: 'info',
      destination: { write: (line: string) => lines.push(line) },
    })
    const relay = await startRelay(relayConfig({ dataDir, port: 0, retentionDays: 7 }), {
      logger,
      retention: { firstRunMs: 0 },
    })
    onCleanup(() => relay.close())
    await expect
      .poll(() => lines.find((line) => line.includes('retention: old messages removed')), { timeout: 60_000 })
      .toContain('"ackedMessages":1')
  })
})
