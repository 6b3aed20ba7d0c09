import { describe, expect, it } from 'vitest'
import { listenForChanges, MAX_RETRY_AFTER_MS, RECONNECT_MS } from '../web/src/api.js'

// The page's change stream (`listenForChanges`) against a fake relay: each call of fetch takes the next
// answer, and the pauses between two are recorded instead of waited (the last answer, a 401, ends it).

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0)

/** The pauses the page takes between the answers given, and how many changes it saw. */
async function pausesAfter(answers: (() => Response)[]): Promise<{ pauses: number[]; changes: number }> {
  const pauses: number[] = []
  let changes = 0
  const queue = [...answers, () => new Response(null, { status: 401 })]
  await listenForChanges(() => changes++, new AbortController().signal, {
    fetch: async () => queue.shift()!(),
    sleep: async (ms) => {
      pauses.push(ms)
    },
    now: () => NOW,
  })
  return { pauses, changes }
}

const refused = (status: number, retryAfter?: string) => () =>
  new Response('{"error":{}}', {
    status,
    headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter },
  })

describe('the console page listening for changes', () => {
  it("waits what a refusal's Retry-After says before opening the stream again", async () => {
    const { pauses } = await pausesAfter([
      refused(429, '7'),
      refused(503, '2'),
      refused(503, new Date(NOW + 12_000).toUTCString()),
    ])
    expect(pauses).toEqual([7_000, 2_000, 12_000])
  })

  it('keeps the pause between 1 s and a minute, whatever the relay says', async () => {
    const { pauses } = await pausesAfter([refused(429, '3600'), refused(503, '0')])
    expect(pauses).toEqual([MAX_RETRY_AFTER_MS, 1_000])
  })

  it('pauses before asking again after any other refusal, a stream that ended or a failed request', async () => {
    const { pauses, changes } = await pausesAfter([
      refused(500),
      refused(404, 'soon'),
      () => new Response('event: change\ndata: {}\n\n: keep-alive\n\nevent: change\ndata: {}\n\n'),
      () => {
        throw new TypeError('Failed to fetch')
      },
    ])
    expect(pauses).toEqual([RECONNECT_MS, RECONNECT_MS, RECONNECT_MS, RECONNECT_MS])
    expect(changes).toBe(2)
  })
})
