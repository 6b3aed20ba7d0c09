// The page's only way to the relay: its JSON API under /api/v1, with the session cookie (sent by the
// browser, never readable here), the session's page key on every request and its CSRF token on every
// change. The page key comes once, from signing in, and is kept in this origin's localStorage: browsers
// send the cookie to every port of the host, but no other origin can read this storage, so a server on
// another port that receives the cookie still cannot use the session.
import { retryAfterMs } from '@agent-comm/protocol/retry-after'

/** A message as the API returns it (the fields the page shows). */
export interface Message {
  id: string
  fromAgent: string
  toAgent: string
  subject: string
  body: string
  timestamp: string
  priority: string
  routing: { replyTo?: string; conversationId?: string }
  payload?: { type: string; data: unknown }
}

export interface Delivery {
  recipient: string
  status: string
  attempt?: number
  attempts?: number
  lastError?: string | null
  [key: string]: unknown
}

export interface MessageDelivery {
  message: Message
  delivery: Delivery
}

export interface Session {
  agentId: string
  admin: boolean
  csrfToken: string
  expiresAt: string
  /** Only in the answer to signing in. */
  pageKey?: string
}

/** The decision of an approval request, as the relay answers a decision. */
export interface ApprovalResponse {
  decision: string
  decidedBy: string
  decidedAt: string
  comment?: string
  expired?: boolean
}

/** The answer to a decision: the decision that counts, and whether it was this one (`first`). */
export interface DecisionResult {
  response: ApprovalResponse
  first: boolean
}

export interface ApprovalRequest {
  question: string
  options: string[]
  action?: { name: string; arguments?: Record<string, unknown> }
  deadline?: string
  onExpiry: 'deny' | 'approve' | { escalateTo: string }
  context?: unknown
}

export interface PendingApproval {
  requestId: string
  message: Message
  request: ApprovalRequest
}

export interface Profile {
  agentId: string
  capabilities: string[]
  transport: string
  status: string
  lastSeen?: string
  device: string
  metadata: Record<string, unknown>
}

/** An API error, with the relay's stable code and hint. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly hint: string | undefined
  constructor(status: number, code: string, message: string, hint?: string) {
    super(message)
    this.status = status
    this.code = code
    this.hint = hint
  }
}

let csrfToken = ''
const PAGE_KEY_ITEM = 'agent-comm-console-page-key'
let pageKey = readPageKey()

function readPageKey(): string | null {
  try {
    return localStorage.getItem(PAGE_KEY_ITEM)
  } catch {
    // Storage refused (a privacy setting): the key lives as long as the page.
    return null
  }
}

/** Keeps the page key of a new session, for this page and the origin's other tabs. */
export function usePageKey(key: string): void {
  pageKey = key
  try {
    localStorage.setItem(PAGE_KEY_ITEM, key)
  } catch {
    // Kept in memory only (see readPageKey).
  }
}

/**
 * Forgets this page's key once its session ended: in storage too, unless another tab has signed in since
 * (its key is stored now, and stays).
 */
export function forgetPageKey(): void {
  try {
    if (pageKey !== null && localStorage.getItem(PAGE_KEY_ITEM) === pageKey)
      localStorage.removeItem(PAGE_KEY_ITEM)
  } catch {
    // Nothing was stored (see readPageKey).
  }
  pageKey = null
}

function sessionHeaders(): Record<string, string> {
  return pageKey === null ? {} : { 'x-console-key': pageKey }
}
let sessionEnded: (() => void) | undefined

/**
 * Called when the relay answers 401 to a request of a signed-in page: the session expired, or was ended
 * in another tab or on another replica. The page goes back to the sign-in form.
 */
export function onSessionEnded(listener: (() => void) | undefined): void {
  sessionEnded = listener
}

/** Remembers the session's CSRF token for the changes that follow. */
export function useCsrf(token: string): void {
  csrfToken = token
}

/** Calls the API: JSON in and out, errors thrown as {@link ApiError}. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...sessionHeaders() }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (response.status === 204) return undefined as T
  const data = (await response.json().catch(() => ({}))) as {
    error?: { code: string; message: string; hint?: string }
  }
  if (!response.ok) {
    const error = data.error ?? { code: 'HTTP', message: `HTTP ${response.status}` }
    // Signing in, checking the session and signing out answer 401 themselves; any other 401 means the
    // session is gone.
    if (response.status === 401 && path !== '/console/session') sessionEnded?.()
    throw new ApiError(response.status, error.code, error.message, error.hint)
  }
  return data as T
}

/** The pause before the stream is opened again, when the relay said nothing of when. */
export const RECONNECT_MS = 3_000
/** The longest pause a `Retry-After` makes the page take (a longer one is cut to this). */
export const MAX_RETRY_AFTER_MS = 60_000
/** The shortest: an answer of `Retry-After: 0` does not make the page ask again at once, over and over. */
const MIN_RETRY_AFTER_MS = 1_000

/** What {@link listenForChanges} uses of the world: the page's own, unless a test gives its own. */
export interface ListenOptions {
  fetch?: typeof fetch
  /** Waits `ms` before the stream is opened again. */
  sleep?: (ms: number) => Promise<void>
  /** Epoch ms, to read a `Retry-After` given as a date. */
  now?: () => number
}

/**
 * Reads the relay's server-sent events of the session (`GET /console/stream`) and calls `onChange` on each
 * `change` event, reconnecting after a pause when the stream ends, until `signal` aborts. Read with fetch
 * rather than EventSource, which cannot send the page key. A 401 means the session ended. Any other
 * refusal (429 TOO_MANY_WAITS when the session has too many streams open, 503 when the relay sheds load)
 * waits what its `Retry-After` says, between 1 s and {@link MAX_RETRY_AFTER_MS}, before trying again;
 * without one, or after a stream that ended or a network failure, {@link RECONNECT_MS}.
 */
export async function listenForChanges(
  onChange: () => void,
  signal: AbortSignal,
  options: ListenOptions = {},
): Promise<void> {
  const {
    fetch: request = fetch,
    sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    now = Date.now,
  } = options
  while (!signal.aborted) {
    let pause = RECONNECT_MS
    try {
      const response = await request('/api/v1/console/stream', {
        headers: { accept: 'text/event-stream', ...sessionHeaders() },
        credentials: 'same-origin',
        signal,
      })
      if (response.status === 401) {
        sessionEnded?.()
        return
      }
      if (!response.ok) {
        // The refusal's body is not read: let the connection go.
        await response.body?.cancel()
        const asked = retryAfterMs(response.headers.get('retry-after'), now())
        if (asked !== undefined) {
          pause = Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, asked))
        }
      } else if (response.body !== null) {
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            if (/^event: change$/m.test(buffer.slice(0, end))) onChange()
            buffer = buffer.slice(end + 2)
          }
        }
      }
    } catch {
      // The relay restarted or the network dropped: reconnect below, as EventSource would.
    }
    if (signal.aborted) return
    await sleep(pause)
  }
}
