/** One server-sent event. */
export interface ServerSentEvent {
  /** The `event:` field, `message` when absent. */
  event: string
  /** The `data:` lines joined with newlines. */
  data: string
  id: string | undefined
}

/**
 * Reads a `text/event-stream` body chunk by chunk, as the HTML standard's EventSource does: events end at a
 * blank line, `:` lines are comments (keep-alives), multi-line data is joined with `\n`, CR LF and CR
 * count as line ends. Each {@link push} returns the events its chunk completed, so a reader knows which
 * events had arrived when it stopped (the event stream hands back the messages among them it never yielded).
 */
export class ServerSentEventParser {
  readonly #decoder = new TextDecoder()
  #buffer = ''
  #event = ''
  #data: string[] = []
  #id: string | undefined

  /** Takes the next chunk of the body; returns the events it completed, in order. */
  push(chunk: Uint8Array | string): ServerSentEvent[] {
    const events: ServerSentEvent[] = []
    this.#buffer += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true })
    for (;;) {
      const end = this.#buffer.search(/\r\n|\r|\n/)
      // A lone CR at the end of the buffer may be the first half of CR LF: wait for the next chunk.
      if (end < 0 || (this.#buffer[end] === '\r' && end === this.#buffer.length - 1)) break
      const line = this.#buffer.slice(0, end)
      this.#buffer = this.#buffer.slice(end + (this.#buffer.startsWith('\r\n', end) ? 2 : 1))
      if (line === '') {
        if (this.#data.length > 0) {
          events.push({
            event: this.#event === '' ? 'message' : this.#event,
            data: this.#data.join('\n'),
            id: this.#id,
          })
        }
        this.#event = ''
        this.#data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'event') this.#event = value
      else if (field === 'data') this.#data.push(value)
      else if (field === 'id') this.#id = value
    }
    return events
  }
}

/** Parses a `text/event-stream` body into events (see {@link ServerSentEventParser}). */
export async function* parseServerSentEvents(
  chunks: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const parser = new ServerSentEventParser()
  for await (const chunk of chunks) yield* parser.push(chunk)
}
