import { finished } from 'node:stream'
import type { Dispatcher } from 'undici'

/**
 * Largest relay answer read, in bytes (256 MiB): room for a full claim (100 messages at the relay's default
 * 1 MiB body limit, with JSON escaping), while a broken or hostile relay that streams without end costs at
 * most this much memory instead of growing until V8's string limit.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024

/** Thrown by {@link readResponseText} for an answer over the limit; the pipeline reports it with the URL. */
export class ResponseTooLargeError extends Error {
  readonly maxBytes: number

  constructor(maxBytes: number) {
    super(`the answer is larger than ${maxBytes} bytes`)
    this.name = 'ResponseTooLargeError'
    this.maxBytes = maxBytes
  }
}

/**
 * The body as UTF-8 text, reading at most `maxBytes`: a declared or actual length over it closes the
 * connection and throws {@link ResponseTooLargeError}. Read with the stream's own events rather than an
 * async iterator, which costs a promise per chunk on every answer.
 */
export function readResponseText(response: Dispatcher.ResponseData, maxBytes: number): Promise<string> {
  const declared = Number(response.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) {
    abandon(response)
    return Promise.reject(new ResponseTooLargeError(maxBytes))
  }
  const body = response.body
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    let tooLarge = false
    const onData = (chunk: Buffer): void => {
      bytes += chunk.byteLength
      if (bytes > maxBytes) {
        tooLarge = true
        body.off('data', onData)
        abandon(response)
        reject(new ResponseTooLargeError(maxBytes))
        return
      }
      chunks.push(chunk)
    }
    body.on('data', onData)
    // `finished` also answers for a body that failed or closed before this was called (the connection died
    // between the headers and now): the error, or a premature close, as an async iterator would throw it.
    const stop = finished(body, (error) => {
      stop()
      body.off('data', onData)
      if (tooLarge) return
      if (error) {
        reject(error)
        return
      }
      const whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes)
      resolve(whole.toString('utf8'))
    })
  })
}

/**
 * Closes the connection of an answer left unread. undici then fails the body (`UND_ERR_ABORTED`): that is
 * the abort asked for here, and nothing reads the body any more, so no error of it can matter; without a
 * listener it would surface as an unhandled error.
 */
function abandon(response: Dispatcher.ResponseData): void {
  response.body.on('error', () => {})
  response.body.destroy()
}

/** The header `name` of an answer when it is given once; undefined when absent or repeated. */
export function headerOf(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name]
  return typeof value === 'string' ? value : undefined
}
