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
 * connection and throws {@link ResponseTooLargeError}.
 */
export async function readResponseText(response: Dispatcher.ResponseData, maxBytes: number): Promise<string> {
  const declared = Number(response.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) {
    abandon(response)
    throw new ResponseTooLargeError(maxBytes)
  }
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of response.body) {
    const buffer = chunk as Buffer
    bytes += buffer.byteLength
    if (bytes > maxBytes) {
      abandon(response)
      throw new ResponseTooLargeError(maxBytes)
    }
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
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
