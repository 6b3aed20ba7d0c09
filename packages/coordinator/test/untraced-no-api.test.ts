import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from './helpers.js'
import { startFixture } from './processes.js'

// A process that registers nothing with OpenTelemetry: its spans could never record, so the coordinator
// must not load @opentelemetry/api (51 module files, about 20 ms of a one-shot process's CPU) to make them —
// unless a message carries a trace, which a reply must carry on (trace-context.test.ts).
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

interface Report {
  loaded: string[]
  replyTrace: { traceparent: string } | null
}

describe('a process with nothing registered with OpenTelemetry', () => {
  it('sends, polls, replies, acks and nacks without loading @opentelemetry/api', async () => {
    const [report] = await startFixture('untraced.mjs', [join(tempDir(), 'untraced.db')]).reports<Report>()
    expect(report!.loaded).toEqual([])
    expect(report!.replyTrace).toBeNull()
  })

  it('loads it to carry on the trace a message arrived with', async () => {
    const fixture = startFixture('untraced.mjs', [join(tempDir(), 'traced.db'), TRACEPARENT])
    const [report] = await fixture.reports<Report>()
    expect(report!.loaded.length).toBeGreaterThan(0)
    expect(report!.replyTrace?.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/)
  })
})
