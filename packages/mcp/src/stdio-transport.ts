// The stdio transport: one JSON-RPC message per line on stdin, one per line on stdout. The SDK's
// StdioServerTransport drops a line it cannot parse with an `onerror` only, so a client whose request was
// malformed waits for an answer forever. This one answers as JSON-RPC 2.0 says: a line that is not JSON
// gets -32700 Parse error, a JSON value that is no valid message gets -32600 Invalid Request, with the
// request's id when one can be read from it and `null` otherwise. Neither stops the server.

import type { Readable, Writable } from 'node:stream'
import { errorMessage } from '@agent-comm/protocol'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { ErrorCode, type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js'

/** The most a line may hold (bytes, 10 MiB as the SDK's transport); a longer one closes the transport. */
export const STDIO_MAX_BUFFER_BYTES = 10 * 1024 * 1024

/** A JSON-RPC error response to a message that could not be handled; `id` is `null` when it is unknown. */
interface ErrorFrame {
  jsonrpc: '2.0'
  id: string | number | null
  error: { code: number; message: string }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The id to answer with: the message's own when it is a valid id (a string or an integer), else null. */
function idOf(value: Record<string, unknown>): string | number | null {
  const { id } = value
  return typeof id === 'string' || Number.isSafeInteger(id) ? (id as string | number) : null
}

/** What makes `value` (a parsed object) no JSON-RPC request or notification, in a sentence. */
function whatIsWrong(value: Record<string, unknown>): string {
  if (value.jsonrpc !== '2.0') return 'every message needs "jsonrpc": "2.0"'
  if ('id' in value && idOf(value) === null) return 'the id must be a string or an integer'
  if (typeof value.method !== 'string') return 'a request needs a "method" string'
  if ('params' in value && !isObject(value.params)) return '"params" must be an object'
  const extra = Object.keys(value).filter((key) => !['jsonrpc', 'id', 'method', 'params'].includes(key))
  if (extra.length > 0)
    return `unknown member${extra.length === 1 ? '' : 's'} ${extra.map((k) => JSON.stringify(k)).join(', ')}`
  return 'it is not a JSON-RPC 2.0 request, notification or response'
}

/**
 * The error responses a line deserves that is not a valid message, or none: responses are never
 * answered (a malformed response from the client answered with an error could start an endless exchange).
 */
function invalidAnswers(value: unknown): ErrorFrame[] {
  const invalid = (id: string | number | null, why: string): ErrorFrame => ({
    jsonrpc: '2.0',
    id,
    error: { code: ErrorCode.InvalidRequest, message: `Invalid Request: ${why}` },
  })
  if (Array.isArray(value)) {
    // MCP took JSON-RPC batches out (2025-06-18): each request of one gets its own answer, by its id.
    const why = 'JSON-RPC batches are not supported; send each message on its own line'
    const ids = value
      .filter((item) => isObject(item) && 'method' in item)
      .map((item) => idOf(item as Record<string, unknown>))
    const known = ids.filter((id) => id !== null)
    return known.length === 0 ? [invalid(null, why)] : known.map((id) => invalid(id, why))
  }
  if (!isObject(value)) return [invalid(null, 'a message must be a JSON object')]
  if (!('method' in value) && ('result' in value || 'error' in value)) return []
  return [invalid(idOf(value), whatIsWrong(value))]
}

/**
 * Serves MCP over a pair of streams (stdin and stdout of an MCP server launched by its client), answering
 * malformed lines with JSON-RPC errors instead of leaving their sender waiting. Blank lines are ignored.
 */
export class StdioLineTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  readonly #stdin: Readable
  readonly #stdout: Writable
  readonly #maxBufferBytes: number
  #buffer: Buffer | undefined
  #started = false

  /** Reads `stdin` and writes `stdout` (default: the process's own, as an MCP client launches a server). */
  constructor(
    stdin: Readable = process.stdin,
    stdout: Writable = process.stdout,
    options: { maxBufferBytes?: number } = {},
  ) {
    this.#stdin = stdin
    this.#stdout = stdout
    this.#maxBufferBytes = options.maxBufferBytes ?? STDIO_MAX_BUFFER_BYTES
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('StdioLineTransport already started')
    this.#started = true
    this.#stdin.on('data', this.#onData)
    this.#stdin.on('error', this.#onError)
  }

  readonly #onError = (error: Error): void => {
    this.onerror?.(error)
  }

  readonly #onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    this.#buffer = this.#buffer === undefined ? bytes : Buffer.concat([this.#buffer, bytes])
    for (;;) {
      const end = this.#buffer?.indexOf('\n') ?? -1
      if (end === -1 || this.#buffer === undefined) break
      const line = this.#buffer.toString('utf8', 0, end).replace(/\r$/, '')
      this.#buffer = this.#buffer.subarray(end + 1)
      this.#handleLine(line)
    }
    if ((this.#buffer?.length ?? 0) > this.#maxBufferBytes) {
      // A line this long is no message a client meant: stop, as the SDK's transport does.
      this.#buffer = undefined
      this.onerror?.(new Error(`A line on stdin exceeded ${this.#maxBufferBytes} bytes; closing`))
      void this.close()
    }
  }

  #handleLine(line: string): void {
    if (line.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      const reason = errorMessage(error)
      this.onerror?.(new Error(`Parse error on stdin: ${reason}`))
      this.#answer({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: ErrorCode.ParseError,
          message: 'Parse error: the line is not valid JSON (send one JSON-RPC message per line, UTF-8)',
        },
      })
      return
    }
    const parsed = JSONRPCMessageSchema.safeParse(value)
    if (parsed.success) {
      this.onmessage?.(parsed.data)
      return
    }
    const answers = invalidAnswers(value)
    this.onerror?.(
      new Error(`Invalid JSON-RPC message on stdin: ${answers[0]?.error.message ?? 'a malformed response'}`),
    )
    for (const answer of answers) this.#answer(answer)
  }

  #answer(frame: ErrorFrame): void {
    // The SDK's message type has no `id: null`, which JSON-RPC 2.0 prescribes for an unknown id.
    this.send(frame as unknown as JSONRPCMessage).catch((error: unknown) => {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)))
    })
  }

  async close(): Promise<void> {
    this.#stdin.off('data', this.#onData)
    this.#stdin.off('error', this.#onError)
    // Pause stdin only if nothing else reads it.
    if (this.#stdin.listenerCount('data') === 0) this.#stdin.pause()
    this.#buffer = undefined
    this.onclose?.()
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stdout.write(`${JSON.stringify(message)}\n`)) resolve()
      else this.#stdout.once('drain', resolve)
    })
  }
}
