import type { Logger, MessageV2, Payload } from '@agent-comm/protocol'
import { ConfigError, PayloadSchema, toValidationError, ValidationError } from '@agent-comm/protocol'
import type { Availability, Bridge, BridgeContext, BridgeResult } from './bridge.js'
import { DEFAULT_MAX_REPLY_BYTES, describeError, healthTimeoutOf, withinSeconds } from './bridge.js'
import { failureReason, redactUrl } from './failure-reason.js'
import { redirectReason } from './redirects.js'

/** Options of {@link HttpBridge}. */
export interface HttpBridgeOptions {
  /**
   * The webhook: each message is POSTed here as JSON. A URL with credentials (`https://user:pw@host/…`) is
   * refused: fetch cannot send it, and the credentials would show in errors; put them in `headers`.
   */
  url: string
  /** Checked by `isAvailable` with a GET (default: `url`). */
  healthUrl?: string
  /** Extra request headers, e.g. an Authorization header for the webhook. */
  headers?: Record<string, string>
  /**
   * Largest response body read, in bytes (1 MiB, as CommandBridge's output). A 2xx answer over it fails
   * the message for good (dead-lettered: the webhook would answer the same again); reading stops there.
   */
  maxResponseBytes?: number
  /** How long the health check's GET may take before it counts as failed, in ms (10 000). */
  healthTimeoutMs?: number
  /** The fetch to use (default: the global one); inject a fake in tests. */
  fetch?: typeof fetch
}

/** Statuses after which a retry may succeed. */
const RETRYABLE_STATUSES = new Set([408, 425, 429])

/**
 * POSTs each message to a webhook as `{ "message": MessageV2, "attempt": n }` and takes the response body
 * as the reply — or, for a JSON object answer, its `replyText` and `replyPayload`. A 2xx is success (one
 * whose reply fields are malformed is dead-lettered); 5xx, 408, 429 and connection errors are retried; any
 * other 4xx is dead-lettered.
 */
export class HttpBridge implements Bridge {
  readonly name: string
  readonly #options: HttpBridgeOptions
  readonly #fetch: typeof fetch
  readonly #maxBytes: number
  readonly #healthTimeoutMs: number
  /** The webhook's path and query, blanked out of failure reasons: a webhook's token is often there. */
  readonly #hidden: string[]

  constructor(options: HttpBridgeOptions) {
    const url = webhookUrl('url', options.url)
    refuseCredentials('url', url)
    if (options.healthUrl !== undefined)
      refuseCredentials('healthUrl', webhookUrl('healthUrl', options.healthUrl))
    this.#options = options
    this.#fetch = options.fetch ?? fetch
    this.#maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_REPLY_BYTES
    if (!Number.isInteger(this.#maxBytes) || this.#maxBytes < 1) {
      throw new ValidationError(
        `Invalid HttpBridge maxResponseBytes: must be a positive integer (got ${String(options.maxResponseBytes)})`,
        [{ path: 'maxResponseBytes', message: 'must be a positive integer' }],
        {
          hint: `Pass a number of bytes of at least 1, or leave it out for ${DEFAULT_MAX_REPLY_BYTES} (1 MiB).`,
        },
      )
    }
    this.#healthTimeoutMs = healthTimeoutOf('HttpBridge', options.healthTimeoutMs)
    this.name = `webhook ${webhookShown(url)}`
    this.#hidden = [`${url.pathname}${url.search}`, url.pathname].filter((part) => part.length > 1)
  }

  async forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult> {
    const result = await this.#forward(message, context)
    // The reason becomes the delivery's lastError, which the sender reads (`status`, the relay): a URL in
    // it, from fetch or from the webhook's own answer, loses its credentials and query first.
    // The webhook's own path goes too, wherever it appears (a 404 page quoting it): it may be its token.
    if (result.error === undefined) return result
    const error = this.#hidden.reduce((text, part) => text.split(part).join('/...'), result.error)
    return { ...result, error: failureReason(error) }
  }

  async #forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult> {
    let response: Response
    try {
      response = await this.#fetch(this.#options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/plain',
          ...this.#options.headers,
          // Headers: an undefined value would be sent as the text "undefined".
          ...(context.trace === undefined ? {} : { traceparent: context.trace.traceparent }),
          ...(context.trace?.tracestate === undefined ? {} : { tracestate: context.trace.tracestate }),
        },
        body: JSON.stringify({ message, attempt: context.attempt }),
        // Never followed: a redirect would re-POST the message to wherever the webhook points (an internal
        // address, the cloud metadata service) and send that answer back to the sender as the reply.
        redirect: 'manual',
        signal: context.signal,
      })
    } catch (error) {
      const reason = context.signal.aborted
        ? `stopped: ${describeError(context.signal.reason)}`
        : describeError(error)
      return { success: false, error: `${this.name} unreachable: ${reason}`, retryable: true }
    }
    if (response.status >= 300 && response.status < 400) return this.#redirected(response)
    let body: { text: string; overflow: boolean }
    try {
      body = await readCapped(response, this.#maxBytes)
    } catch (error) {
      return {
        success: false,
        error: `${this.name} reply could not be read: ${describeError(error)}`,
        retryable: true,
      }
    }
    const { text, overflow } = body
    if (!response.ok) {
      return {
        success: false,
        error: `${this.name} answered ${response.status}${text === '' ? '' : `: ${text.slice(0, 500)}`}`,
        retryable: response.status >= 500 || RETRYABLE_STATUSES.has(response.status),
      }
    }
    if (overflow) {
      return {
        success: false,
        error: `${this.name} answered more than ${this.#maxBytes} bytes (maxResponseBytes); reading stopped there`,
        retryable: false,
      }
    }
    const reply = replyFrom(text, response.headers.get('content-type'))
    if ('malformed' in reply) return this.#malformed(reply.malformed, context.logger)
    return { success: true, ...reply }
  }

  /** A 3xx answer: a failure, never followed (see `redirect: 'manual'`) and not retried ({@link redirectReason}). */
  async #redirected(response: Response): Promise<BridgeResult> {
    return {
      success: false,
      error: await redirectReason(this.name, 'webhook', response, this.#options.url),
      retryable: false,
    }
  }

  /** A 2xx answer whose reply fields are wrong: the webhook's error, and it would answer the same again. */
  #malformed(problem: string, logger: Logger): BridgeResult {
    const error = `${this.name} answered 2xx with a malformed reply: ${problem}`
    logger.warn({ bridge: this.name, problem }, 'webhook reply is malformed; dead-lettering the message')
    return { success: false, error, retryable: false }
  }

  async isAvailable(signal?: AbortSignal): Promise<boolean> {
    return (await this.checkAvailability(signal)).available
  }

  /** GETs the health URL and, when it is not a 2xx answer, says what came back instead. */
  async checkAvailability(signal?: AbortSignal): Promise<Availability> {
    const timeout = AbortSignal.timeout(this.#healthTimeoutMs)
    try {
      const response = await this.#fetch(this.#options.healthUrl ?? this.#options.url, {
        method: 'GET',
        headers: this.#options.headers,
        redirect: 'manual', // a redirect is not a healthy webhook: forward would not follow it either
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      })
      await response.body?.cancel()
      if (response.ok) return { available: true }
      return { available: false, reason: `${this.name} answered HTTP ${response.status} to a GET` }
    } catch (error) {
      if (timeout.aborted) {
        return {
          available: false,
          reason: `${this.name} did not answer within ${withinSeconds(this.#healthTimeoutMs)}`,
        }
      }
      return {
        available: false,
        reason: failureReason(
          `${this.name} could not be reached: ${describeError((error as Error).cause ?? error)}`,
        ),
      }
    }
  }
}

/**
 * The response body as text, reading at most `maxBytes`: a longer body is cancelled there (the connection
 * is closed), so a webhook that streams without end costs at most `maxBytes` of memory.
 */
async function readCapped(
  response: Response,
  maxBytes: number,
): Promise<{ text: string; overflow: boolean }> {
  if (response.body === null) return { text: '', overflow: false }
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.cancel()
    return { text: '', overflow: true }
  }
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
    if (bytes > maxBytes) {
      await reader.cancel()
      // What fits is kept: an error status still shows the start of its body.
      chunks.push(value.subarray(0, value.byteLength - (bytes - maxBytes)))
      // The cut can fall inside a multi-byte character: a streaming decode keeps only whole characters.
      return { text: new TextDecoder().decode(Buffer.concat(chunks), { stream: true }), overflow: true }
    }
    chunks.push(value)
  }
  return { text: Buffer.concat(chunks).toString('utf8'), overflow: false }
}

/** The reply fields of a 2xx answer, or what is wrong with them. */
type WebhookReply = { replyText?: string; replyPayload?: Payload } | { malformed: string }

/**
 * The reply in a 2xx answer: a JSON object with `replyText` or `replyPayload` is a structured answer whose
 * fields must be right (a string; a valid payload); any other body is the reply text, an empty one none.
 */
function replyFrom(text: string, contentType: string | null): WebhookReply {
  if (contentType?.includes('json')) {
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined // Not JSON after all: the body text is the reply.
    }
    if (typeof body === 'object' && body !== null && ('replyText' in body || 'replyPayload' in body)) {
      const { replyText, replyPayload } = body as { replyText?: unknown; replyPayload?: unknown }
      if (replyText !== undefined && typeof replyText !== 'string')
        return {
          malformed: `replyText must be a string (leave it out for no reply text), got ${describeJson(replyText)}`,
        }
      if (replyPayload === undefined) return replyText === undefined ? {} : { replyText }
      const payload = PayloadSchema.safeParse(replyPayload)
      if (!payload.success)
        return {
          malformed: `replyPayload must be a valid agent-comm payload ({ type, data }): ${toValidationError(payload.error, 'replyPayload').message}`,
        }
      return { ...(replyText === undefined ? {} : { replyText }), replyPayload: payload.data }
    }
  }
  return { replyText: text === '' ? undefined : text }
}

function describeJson(value: unknown): string {
  const json = JSON.stringify(value)
  return json.length > 100 ? `${json.slice(0, 100)}…` : json
}

/**
 * `value` of the `option` parsed as an http(s) URL, or a {@link ValidationError} naming the option. The value
 * itself is not repeated: a URL that does not parse cannot be stripped of the credentials it may hold.
 */
function webhookUrl(option: 'url' | 'healthUrl', value: string): URL {
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:')) return url
  const problem =
    url === undefined ? 'is not a valid URL' : `must be http or https, not ${url.protocol.slice(0, -1)}`
  throw new ValidationError(
    `Invalid HttpBridge ${option}: ${problem}`,
    [{ path: option, message: problem }],
    {
      hint: `Give ${option} as an absolute http(s) URL, e.g. https://example.com/agent-hook`,
    },
  )
}

/**
 * A webhook's URL as its bridge is named (in progress lines, logs and the failure reasons the sender reads):
 * scheme and host, the path shown as `/...`. `agent-comm bridge --webhook` can send no header, so a webhook's
 * token is put in its path or query (`https://hooks.example.com/services/T0/B0/<token>`).
 */
function webhookShown(url: URL): string {
  const origin = redactUrl(new URL('/', url)).replace(/\/$/, '')
  return url.pathname === '/' && url.search === '' ? `${origin}/` : `${origin}/...`
}

/** Throws a {@link ConfigError} for a webhook URL that carries credentials (user info). */
function refuseCredentials(option: 'url' | 'healthUrl', url: URL): void {
  if (url.username === '' && url.password === '') return
  throw new ConfigError(
    `HttpBridge ${option} must not contain credentials (user:password@): ${webhookShown(url)}`,
    {
      hint: "Send them in a header instead: the `headers` option, e.g. headers: { authorization: 'Basic <base64 of user:password>' }. With agent-comm bridge --webhook, set AGENT_COMM_BRIDGE_WEBHOOK_AUTHORIZATION (e.g. 'Bearer <token>'), or put a token in the URL's path or query.",
      details: { option },
    },
  )
}
