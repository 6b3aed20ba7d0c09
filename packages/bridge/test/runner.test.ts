import { ManualClock } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { describe, expect, it } from 'vitest'
import {
  type BridgeCoordinator,
  type BridgeEvent,
  BridgeRunner,
  FunctionBridge,
  replyKeyFor,
} from '../src/index.js'
import { openCoordinator } from './helpers.js'

const until = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })

describe('BridgeRunner with an in-process FunctionBridge', () => {
  it('answers a task assignment with a task_result reply in the same conversation', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Task: Auth',
      body: 'implement',
      payload: { type: 'task_assignment', data: {} },
    })
    const events: BridgeEvent['type'][] = []
    const bridge = new FunctionBridge(async (message) => `done: ${message.body}`)
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge,
      onEvent: (e) => events.push(e.type),
    }).run({ once: true })
    expect(events).toEqual(['received', 'forwarded', 'replied', 'acked'])
    const thread = await coord.conversation(task.message.routing.conversationId)
    expect(thread.map((m) => [m.fromAgent, m.body, m.payload?.type])).toEqual([
      ['architect', 'implement', 'task_assignment'],
      ['builder', 'done: implement', 'task_result'],
    ])
  })

  it('acks without a reply when the handler returns nothing', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'fyi' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new FunctionBridge(() => undefined),
    }).run({ once: true })
    expect((await coord.status(task.messageId)).deliveries[0]?.status).toBe('acked')
    expect(await coord.poll('architect')).toEqual([])
  })

  it('dead-letters a failure the handler marks as not retryable', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'nonsense' })
    const bridge = new FunctionBridge(() => ({ success: false, error: 'cannot parse', retryable: false }))
    await new BridgeRunner({ coordinator: coord, agent: 'builder', bridge }).run({ once: true })
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({
      status: 'failed',
      attempt: 1,
      lastError: 'cannot parse',
    })
  })

  it('never runs more forwards at once than its concurrency', async () => {
    const coord = await openCoordinator()
    for (let i = 0; i < 12; i++)
      await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: `m${i}` })
    let running = 0
    let started = 0
    let peak = 0
    // Each forward holds its slot until three run at once (or the last one has started), so the peak shows
    // the concurrency however slow the machine is; a fixed sleep could end before the next forward starts.
    let release = (): void => {}
    let gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const bridge = new FunctionBridge(async () => {
      running++
      started++
      peak = Math.max(peak, running)
      if (running === 3 || started === 12) {
        release()
        gate = new Promise<void>((resolve) => {
          release = resolve
        })
      } else {
        await gate
      }
      running--
    })
    const summary = await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge,
      concurrency: 3,
      maxMessages: 12,
    }).run({
      once: true,
    })
    expect(summary).toEqual({ processed: 12, succeeded: 12, failed: 0 })
    expect(peak).toBe(3)
  })

  it('extends the lease while a long forward runs, so no one else gets the message', async () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
    const coord = await openCoordinator({ clock })
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'slow' })
    // The runner extends on a real timer (every half lease) and the lease runs on the coordinator's clock.
    // Waiting for each extension, then moving the clock, shows the lease held past its first term however
    // late the timer fires on a busy machine.
    let extended = (): void => {}
    const nextExtension = () =>
      new Promise<void>((resolve) => {
        extended = resolve
      })
    const watched: BridgeCoordinator = {
      poll: (...args) => coord.poll(...args),
      ack: (...args) => coord.ack(...args),
      nack: (...args) => coord.nack(...args),
      reply: (...args) => coord.reply(...args),
      extendLease: async (...args) => {
        const result = await coord.extendLease(...args)
        extended()
        return result
      },
    }
    let stolen = -1
    const bridge = new FunctionBridge(async () => {
      await nextExtension()
      clock.advance(600)
      await nextExtension()
      // Past the first one-second term: only the extension made at +600 ms keeps the message leased.
      clock.advance(600)
      stolen = (await coord.poll('builder')).length
      return 'finished'
    })
    const events: BridgeEvent[] = []
    await new BridgeRunner({
      coordinator: watched,
      agent: 'builder',
      bridge,
      leaseSeconds: 1,
      onEvent: (e) => events.push(e),
    }).run({
      once: true,
    })
    expect(stolen).toBe(0)
    expect(events.filter((e) => e.type === 'error')).toEqual([])
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({ status: 'acked', attempt: 1 })
  })

  it('stops cleanly during a long forward: the message goes back to the queue, nothing is lost', async () => {
    const coord = await openCoordinator()
    const first = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'long' })
    const second = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'not started' })
    const controller = new AbortController()
    let started!: () => void
    const forwarding = new Promise<void>((resolve) => {
      started = resolve
    })
    const bridge = new FunctionBridge(async (_message, context) => {
      started()
      await until(context.signal)
      throw new Error('interrupted')
    })
    const run = new BridgeRunner({ coordinator: coord, agent: 'builder', bridge, maxMessages: 2 }).run({
      signal: controller.signal,
    })
    await forwarding
    controller.abort()
    const summary = await run
    expect(summary.succeeded).toBe(0)
    // The interrupted forward used its attempt; the one claimed with it but never started is handed back.
    expect((await coord.status(first.messageId)).deliveries[0]).toMatchObject({
      status: 'queued',
      attempt: 1,
    })
    expect((await coord.status(second.messageId)).deliveries[0]).toMatchObject({
      status: 'queued',
      attempt: 0,
    })
    expect((await coord.poll('builder', { limit: 5 })).map((c) => c.message.body)).toEqual([
      'long',
      'not started',
    ])
  })

  it('finishes a forward that completes during shutdown: reply sent, original acked', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'almost done' })
    const controller = new AbortController()
    const bridge = new FunctionBridge(async () => {
      controller.abort()
      return 'completed anyway'
    })
    await new BridgeRunner({ coordinator: coord, agent: 'builder', bridge }).run({
      signal: controller.signal,
    })
    expect((await coord.status(task.messageId)).deliveries[0]?.status).toBe('acked')
    expect((await coord.poll('architect')).map((c) => c.message.body)).toEqual(['completed anyway'])
  })

  it('sends one reply even when a message is handled twice (reply sent, then the ack lost)', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'twice' })
    let failAck = true
    const flaky = {
      poll: coord.poll.bind(coord),
      nack: coord.nack.bind(coord),
      extendLease: coord.extendLease.bind(coord),
      reply: coord.reply.bind(coord),
      ack: async (...args: Parameters<typeof coord.ack>) => {
        if (failAck) {
          failAck = false
          // Simulate a crash after the reply: the lease is given up without an ack.
          await coord.nack(args[0], undefined, { reason: 'crashed' })
          throw new Error('connection lost')
        }
        return coord.ack(...args)
      },
    }
    const runner = new BridgeRunner({
      coordinator: flaky,
      agent: 'builder',
      bridge: new FunctionBridge(() => 'the answer'),
    })
    await runner.run({ once: true })
    await runner.run({ once: true })
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({ status: 'acked', attempt: 2 })
    const thread = await coord.conversation(task.message.routing.conversationId)
    expect(thread.map((m) => m.body)).toEqual(['twice', 'the answer'])
  })

  it('sends one reply when a restarted bridge answers the same message differently', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'once' })
    // The first bridge replies, then dies before its ack (its lease is handed back).
    let answer = 'first answer'
    const dying = {
      poll: coord.poll.bind(coord),
      nack: coord.nack.bind(coord),
      extendLease: coord.extendLease.bind(coord),
      reply: coord.reply.bind(coord),
      ack: async (...args: Parameters<typeof coord.ack>) => {
        await coord.nack(args[0], undefined, { reason: 'crashed' })
        throw new Error('process killed')
      },
    }
    const bridge = new FunctionBridge(() => answer)
    await new BridgeRunner({ coordinator: dying, agent: 'builder', bridge }).run({ once: true })
    answer = 'second answer, after the restart'
    const events: BridgeEvent[] = []
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge,
      onEvent: (e) => events.push(e),
    }).run({
      once: true,
    })
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({ status: 'acked', attempt: 2 })
    const thread = await coord.conversation(task.message.routing.conversationId)
    expect(thread.map((m) => m.body)).toEqual(['once', 'first answer'])
    const replied = events.find((e) => e.type === 'replied')
    expect(replied).toMatchObject({ replyId: thread[1]!.id })
  })

  it('cannot be pre-empted by another agent guessing the reply: keys are per sender', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'hello' })
    // Another agent sends with the very key the bridge will use: its own key, not the bridge's.
    await coord.send(
      { fromAgent: 'mallory', toAgent: 'architect', body: 'fake answer' },
      { allowUnregistered: true, idempotencyKey: replyKeyFor(task.messageId) },
    )
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new FunctionBridge(() => 'the real answer'),
    }).run({ once: true })
    const bodies = (await coord.poll('architect', { limit: 10 })).map((c) => [
      c.message.fromAgent,
      c.message.body,
    ])
    expect(bodies).toContainEqual(['builder', 'the real answer'])
  })

  it('processes 5,000 messages from an echo agent, each acked once with one reply', async () => {
    const coord = await openCoordinator()
    // Loaded in one transaction straight into the coordinator's database: 5,000 sends would be slow.
    const spool = await Spool.open({ path: coord.storage.path })
    try {
      await spool.sendBatch(
        Array.from({ length: 5_000 }, (_, i) => ({
          message: { fromAgent: 'architect', toAgent: 'builder', body: `n${i}` },
        })),
      )
    } finally {
      await spool.close()
    }
    const runner = new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new FunctionBridge((message) => message.body),
      maxMessages: 100,
      concurrency: 4,
    })
    let total = 0
    for (;;) {
      const summary = await runner.run({ once: true })
      if (summary.processed === 0) break
      total += summary.succeeded
    }
    expect(total).toBe(5_000)
    const stats = await coord.stats()
    expect(stats.deliveries).toMatchObject({ acked: 5_000, queued: 5_000, failed: 0 })
    expect(stats.agents.architect?.queued).toBe(5_000)
  })
})

describe('BridgeRunner in a loop that never waits', () => {
  // A coordinator whose polls resolve at once, as SQLite's synchronous claims do when messages keep coming:
  // a loop of promises alone would starve timers and signal handlers, so Ctrl-C would never be seen.
  const busyCoordinator = (polls: { count: number }) =>
    ({
      poll: async () => {
        polls.count++
        return []
      },
      ack: async () => {
        throw new Error('not used')
      },
      nack: async () => {
        throw new Error('not used')
      },
      extendLease: async () => {
        throw new Error('not used')
      },
      reply: async () => {
        throw new Error('not used')
      },
    }) as unknown as ConstructorParameters<typeof BridgeRunner>[0]['coordinator']

  it('lets timers (and so signal handlers) run between polls, and stops when they abort it', async () => {
    const polls = { count: 0 }
    const stop = new AbortController()
    const runner = new BridgeRunner({
      coordinator: busyCoordinator(polls),
      agent: 'builder',
      bridge: new FunctionBridge(() => undefined),
    })
    setTimeout(() => stop.abort(), 0)
    expect(await runner.run({ signal: stop.signal })).toEqual({ processed: 0, succeeded: 0, failed: 0 })
    expect(polls.count).toBeGreaterThan(0)
  })

  it('refuses an interval of 0, which would poll in a busy loop', () => {
    expect(
      () =>
        new BridgeRunner({
          coordinator: busyCoordinator({ count: 0 }),
          agent: 'builder',
          bridge: new FunctionBridge(() => undefined),
          intervalMs: 0,
        }),
    ).toThrow(/intervalMs.*positive/)
  })

  it('refuses an interval over an hour, a timeout no timer can hold and a lease over the protocol maximum', () => {
    const make = (options: { intervalMs?: number; timeoutMs?: number; leaseSeconds?: number }) => () =>
      new BridgeRunner({
        coordinator: busyCoordinator({ count: 0 }),
        agent: 'builder',
        bridge: new FunctionBridge(() => undefined),
        ...options,
      })
    expect(make({ intervalMs: 4_000_000 })).toThrow(/intervalMs.*at most/)
    expect(make({ timeoutMs: 3_000_000_000 })).toThrow(/timeoutMs.*at most/)
    expect(make({ leaseSeconds: 1e9 })).toThrow(/leaseSeconds.*at most/)
  })
})
