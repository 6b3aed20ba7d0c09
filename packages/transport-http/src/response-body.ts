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
 * async iterator, which costs a promise and a round of listeners per chunk on every answer.
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
    const stop = (): void => {
      body.off('data', onData)
      body.off('end', onEnd)
      body.off('error', onError)
      body.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      bytes += chunk.byteLength
      if (bytes > maxBytes) {
        stop()
        abandon(response)
        reject(new ResponseTooLargeError(maxBytes))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      stop()
      const whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes)
      resolve(whole.toString('utf8'))
    }
    const onError = (error: Error): void => {
      stop()
      reject(error)
    }
    // Closed before its end and without an error: cut short, as an async iterator would report it.
    const onClose = (): void => {
      stop()
      reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))
    }
    body.on('data', onData)
    body.on('end', onEnd)
    body.on('error', onError)
    body.on('close', onClose)
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
