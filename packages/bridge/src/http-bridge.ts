import type { MessageV2, Payload } from '@agent-comm/protocol'
import { PayloadSchema } from '@agent-comm/protocol'
import { type Bridge, type BridgeContext, type BridgeResult, describeError } from './bridge.js'

/** Options of {@link HttpBridge}. */
export interface HttpBridgeOptions {
  /** The webhook: each message is POSTed here as JSON. */
  url: string
  /** Checked by `isAvailable` with a GET (default: `url`). */
  healthUrl?: string
  /** Extra request headers, e.g. an Authorization header for the webhook. */
  headers?: Record<string, string>
  /** The fetch to use (default: the global one); inject a fake in tests. */
  fetch?: typeof fetch
}

/** Statuses after which a retry may succeed. */
const RETRYABLE_STATUSES = new Set([408, 425, 429])

/**
 * POSTs each message to a webhook as `{ "message": MessageV2, "attempt": n }` and takes the response body
 * as the reply — or, for a JSON object answer, its `replyText` (and optional `replyPayload`). A 2xx is
 * success; 5xx, 408, 429 and connection errors are retried; any other 4xx is dead-lettered.
 */
export class HttpBridge implements Bridge {
  readonly name: string
  readonly #options: HttpBridgeOptions
  readonly #fetch: typeof fetch

  constructor(options: HttpBridgeOptions) {
    const url = new URL(options.url)
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError('HttpBridge needs an http(s) URL')
    this.#options = options
    this.#fetch = options.fetch ?? fetch
    this.name = `webhook ${url.origin}${url.pathname}`
  }

  async forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult> {
    let response: Response
    try {
      response = await this.#fetch(this.#options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/plain',
          ...this.#options.headers,
        },
        body: JSON.stringify({ message, attempt: context.attempt }),
        signal: context.signal,
      })
    } catch (error) {
      const reason = context.signal.aborted
        ? `stopped: ${describeError(context.signal.reason)}`
        : describeError(error)
      return { success: false, error: `${this.name} unreachable: ${reason}`, retryable: true }
    }
    let text: string
    try {
      text = await response.text()
    } catch (error) {
      return {
        success: false,
        error: `${this.name} reply could not be read: ${describeError(error)}`,
        retryable: true,
      }
    }
    if (!response.ok) {
      return {
        success: false,
        error: `${this.name} answered ${response.status}${text === '' ? '' : `: ${text.slice(0, 500)}`}`,
        retryable: response.status >= 500 || RETRYABLE_STATUSES.has(response.status),
      }
    }
    return { success: true, ...replyFrom(text, response.headers.get('content-type')) }
  }

  async isAvailable(signal?: AbortSignal): Promise<boolean> {
    const timeout = AbortSignal.timeout(10_000)
    try {
      const response = await this.#fetch(this.#options.healthUrl ?? this.#options.url, {
        method: 'GET',
        headers: this.#options.headers,
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      })
      await response.body?.cancel()
      return response.ok
    } catch {
      return false
    }
  }
}

function replyFrom(text: string, contentType: string | null): { replyText?: string; replyPayload?: Payload } {
  if (contentType?.includes('json')) {
    try {
      const body = JSON.parse(text) as unknown
      if (typeof body === 'object' && body !== null && 'replyText' in body) {
        const { replyText, replyPayload } = body as { replyText: unknown; replyPayload?: unknown }
        const payload = PayloadSchema.safeParse(replyPayload)
        return {
          ...(typeof replyText === 'string' ? { replyText } : {}),
          ...(replyPayload !== undefined && payload.success ? { replyPayload: payload.data } : {}),
        }
      }
    } catch {
      // Not JSON after all: the body text is the reply.
    }
  }
  return text === '' ? {} : { replyText: text }
}
