import { ManualClock, silentLogger } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { ChannelAnnouncer, type ChannelEvent, type ScheduleTimer } from '../src/channel.js'
import { MailFeed } from '../src/index.js'
import { onCleanup, openCoordinator } from './helpers.js'

/** Timers that fire only when the test says so. */
function manualTimers() {
  const pending: { run: () => void; ms: number; cancelled: boolean }[] = []
  const waiters: (() => void)[] = []
  const setTimer: ScheduleTimer = (run, ms) => {
    const timer = { run, ms, cancelled: false }
    pending.push(timer)
    waiters.shift()?.()
    return () => {
      timer.cancelled = true
    }
  }
  return { pending, setTimer, next: () => new Promise<void>((resolve) => waiters.push(resolve)) }
}

describe('channel rate limit', () => {
  it('announces at most once per interval: mail within it waits for one later announcement', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: [] })
    await coordinator.register({ agentId: 'builder', capabilities: [] })
    const clock = new ManualClock()
    const timers = manualTimers()
    // Woken only by the test (no store hints, no safety tick), so each wake is one the test made.
    const feed = new MailFeed(() => ({ watch: () => () => {} }), 3_600_000)
    const events: ChannelEvent[] = []
    const waiters: (() => void)[] = []
    const announcer = new ChannelAnnouncer({
      coordinator,
      feed,
      agent: 'builder',
      logger: silentLogger,
      intervalMs: 2000,
      clock,
      setTimer: timers.setTimer,
      send: async (event) => {
        events.push(event)
        waiters.shift()?.()
      },
    })
    onCleanup(() => announcer.close())
    const announced = () => new Promise<void>((resolve) => waiters.push(resolve))
    const send = (subject: string) =>
      coordinator.send({ fromAgent: 'architect', toAgent: 'builder', subject, body: 'x' })
    await announcer.start()

    // First mail: announced at once, no timer.
    await send('one')
    await send('two')
    let next = announced()
    feed.notify()
    await next
    expect(events.map((e) => e.meta.count)).toEqual(['2'])

    // 500 ms later more mail: held for the 1 500 ms left of the interval, one timer however often woken.
    clock.advance(500)
    await send('three')
    const scheduled = timers.next()
    feed.notify()
    await scheduled
    await send('four')
    feed.notify()
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    expect(timers.pending.map((t) => t.ms)).toEqual([1500])
    expect(events).toHaveLength(1)

    // The interval over: one announcement of what came meanwhile, never the first two again.
    clock.advance(1500)
    next = announced()
    timers.pending[0]!.run()
    await next
    expect(events.map((e) => e.meta.count)).toEqual(['2', '2'])
    expect(events[1]!.content).toContain('three')
    expect(events[1]!.content).not.toContain('"one"')

    // Past the interval again, new mail goes out at once.
    clock.advance(2000)
    await send('five')
    next = announced()
    feed.notify()
    await next
    expect(events.map((e) => e.meta.count)).toEqual(['2', '2', '1'])
    expect(timers.pending).toHaveLength(1)

    // Closing cancels a held announcement.
    clock.advance(100)
    await send('six')
    const held = timers.next()
    feed.notify()
    await held
    announcer.close()
    expect(timers.pending.at(-1)!.cancelled).toBe(true)
  })
})
