/** One server-sent event. */
export interface ServerSentEvent {
  /** The `event:` field, `message` when absent. */
  event: string
  /** The `data:` lines joined with newlines. */
  data: string
  id: string | undefined
}

/**
 * Parses a `text/event-stream` body into events, as the HTML standard's EventSource does: events end at a
 * blank line, `:` lines are comments (keep-alives), multi-line data is joined with `\n`, CR LF and CR
 * count as line ends.
 */
export async function* parseServerSentEvents(
  chunks: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const decoder = new TextDecoder()
  let buffer = ''
  let event = ''
  let data: string[] = []
  let id: string | undefined
  for await (const chunk of chunks) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true })
    for (;;) {
      const end = buffer.search(/\r\n|\r|\n/)
      // A lone CR at the end of the buffer may be the first half of CR LF: wait for the next chunk.
      if (end < 0 || (buffer[end] === '\r' && end === buffer.length - 1)) break
      const line = buffer.slice(0, end)
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1))
      if (line === '') {
        if (data.length > 0) yield { event: event === '' ? 'message' : event, data: data.join('\n'), id }
        event = ''
        data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'event') event = value
      else if (field === 'data') data.push(value)
      else if (field === 'id') id = value
    }
  }
}
