import { ResponseTooLargeError } from './response-body.js'

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
 *
 * A stream is endless by design, so its size is not bounded, but one event is: an event (its data and the
 * unfinished line) over `maxEventChars` throws {@link ResponseTooLargeError}, so a broken or hostile server
 * that never ends a line costs that much memory, not all of it.
 */
export class ServerSentEventParser {
  readonly #decoder = new TextDecoder()
  readonly #maxEventChars: number
  #buffer = ''
  #event = ''
  #data: string[] = []
  #dataChars = 0
  #id: string | undefined

  constructor(options: { maxEventChars?: number } = {}) {
    this.#maxEventChars = options.maxEventChars ?? Number.POSITIVE_INFINITY
  }

  /** Takes the next chunk of the body; returns the events it completed, in order. */
  push(chunk: Uint8Array | string): ServerSentEvent[] {
    const events: ServerSentEvent[] = []
    this.#buffer += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true })
    if (this.#buffer.length + this.#dataChars > this.#maxEventChars && this.#unfinishedEventTooLong()) {
      throw new ResponseTooLargeError(this.#maxEventChars)
    }
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
        this.#dataChars = 0
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'event') this.#event = value
      else if (field === 'data') {
        this.#data.push(value)
        this.#dataChars += value.length
        if (this.#dataChars > this.#maxEventChars) throw new ResponseTooLargeError(this.#maxEventChars)
      } else if (field === 'id') this.#id = value
    }
    return events
  }

  /** Whether the buffer's first unfinished line, with the data gathered so far, is over the bound. */
  #unfinishedEventTooLong(): boolean {
    const end = this.#buffer.search(/\r|\n/)
    return (end < 0 ? this.#buffer.length : end) + this.#dataChars > this.#maxEventChars
  }
}

/** Parses a `text/event-stream` body into events (see {@link ServerSentEventParser}). */
export async function* parseServerSentEvents(
  chunks: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const parser = new ServerSentEventParser()
  for await (const chunk of chunks) yield* parser.push(chunk)
}
