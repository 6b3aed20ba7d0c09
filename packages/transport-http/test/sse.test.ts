import { describe, expect, it } from 'vitest'
import { parseServerSentEvents } from '../src/index.js'

async function collect(chunks: string[]) {
  async function* source() {
    for (const chunk of chunks) yield new TextEncoder().encode(chunk)
  }
  const events = []
  for await (const event of parseServerSentEvents(source())) events.push(event)
  return events
}

describe('server-sent events', () => {
  it('parses events split anywhere across chunks, skipping comments', async () => {
    const text =
      ': connected\n\nid: 1\nevent: message\ndata: {"a":\ndata: 1}\n\n: keep-alive\n\ndata: plain\r\n\r\n'
    const expected = [
      { event: 'message', data: '{"a":\n1}', id: '1' },
      { event: 'message', data: 'plain', id: '1' },
    ]
    expect(await collect([text])).toEqual(expected)
    for (let cut = 1; cut < text.length; cut++) {
      expect(await collect([text.slice(0, cut), text.slice(cut)])).toEqual(expected)
    }
  })

  it('keeps multi-byte characters split across chunks intact', async () => {
    const bytes = new TextEncoder().encode('data: 東京\n\n')
    async function* source() {
      yield bytes.slice(0, 8)
      yield bytes.slice(8)
    }
    const events = []
    for await (const event of parseServerSentEvents(source())) events.push(event.data)
    expect(events).toEqual(['東京'])
  })
})
