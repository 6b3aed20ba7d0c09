// The page's only way to the relay: its JSON API under /api/v1, with the session cookie (sent by the
// browser, never readable here) and the session's CSRF token on every change.

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
  const headers: Record<string, string> = { accept: 'application/json' }
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
