import { GCProfiler } from 'node:v8'
import { describe, expect, it } from 'vitest'
import { openCoordinator } from './helpers.js'

/**
 * What V8's young-generation collections (scavenges) among `statistics` moved to the old generation, in
 * bytes, and how many there were. An object alive at two scavenges in a row is promoted; one that dies soon
 * after stays in the old generation as garbage until a full collection. That garbage, and the promoted bytes
 * making V8 double its young generation, lifted a consumer to 131 MiB RSS after 100,000 messages
 * (`bench/consumer-rss.bench.mjs`).
 *
 * The largest single scavenge is left out: what a consumer keeps per message is promoted at every scavenge
 * alike, while one scavenge can promote whatever happened to be alive at that moment — the first after the
 * profiler starts takes most of the warm-up's leftovers (78 KB of the run's 89 KB on an idle machine), and
 * on a loaded machine one promoted 2.7 MB once, failing a sum of all of them.
 */
function promoted(statistics: ReturnType<GCProfiler['stop']>['statistics']): {
  bytes: number
  scavenges: number
} {
  const each: number[] = []
  for (const gc of statistics) {
    if (gc.gcType !== 'Scavenge') continue
    const oldUsed = (phase: typeof gc.beforeGC) =>
      phase.heapSpaceStatistics.find((s) => s.spaceName === 'old_space')?.spaceUsedSize ?? 0
    each.push(Math.max(0, oldUsed(gc.afterGC) - oldUsed(gc.beforeGC)))
  }
  const largest = Math.max(0, ...each)
  const bytes = each.reduce((sum, b) => sum + b, 0) - largest
  return { bytes, scavenges: Math.max(0, each.length - 1) }
}

describe('consumer memory', () => {
  it('keeps nothing of a consumed message past the next few, whatever its thread and delivery ids', async () => {
    const { coord } = await openCoordinator()
    await coord.register({ agentId: 'architect' })
    await coord.register({ agentId: 'builder' })
    // Each send starts a thread of its own and makes a new delivery id: values that never repeat.
    const count = 12_000
    for (let i = 0; i < count; i++) {
      await coord.send({
        fromAgent: 'architect',
        toAgent: 'builder',
        subject: `Task ${i}`,
        body: 'Implement auth',
      })
    }
    // The first messages warm up: code compiled, statements prepared, repeating values (agents) remembered.
    const warmUp = 2000
    let consumed = 0
    const stop = new AbortController()
    const profiler = new GCProfiler()
    let statistics: ReturnType<GCProfiler['stop']>['statistics'] = []
    for await (const _ of coord.messages('builder', { autoAck: true, signal: stop.signal })) {
      consumed++
      if (consumed === warmUp) profiler.start()
      if (consumed === count) {
        statistics = profiler.stop().statistics
        stop.abort()
      }
    }
    const { bytes, scavenges } = promoted(statistics)
    // Enough scavenges (besides the largest) for what a consumer keeps across thousands of messages to
    // have been promoted.
    expect(scavenges).toBeGreaterThanOrEqual(2)
    // About 1 byte a message (what is in flight at each scavenge). Remembering every thread id for
    // thousands of claims, and each receipt's delivery-id string left in V8's number-to-string cache,
    // promoted 60-75 at every scavenge.
    expect(bytes / (count - warmUp)).toBeLessThan(25)
  })
})
