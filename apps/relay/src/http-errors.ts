import {
  type AgentCommError,
  ErrorCode,
  isAgentCommError,
  isTransientStorageError,
} from '@agent-comm/protocol'
import { type ErrorResponse, RelayErrorCode } from '@agent-comm/transport-http'

/** A refusal the relay decides itself (auth, authorization, limits), with its status and stable code. */
export class HttpProblem extends Error {
  readonly status: number
  readonly code: string
  readonly hint: string | undefined
  readonly details: Record<string, unknown>
  /** Response headers that go with the refusal (e.g. `retry-after`). */
  readonly headers: Record<string, string> | undefined

  constructor(
    status: number,
    code: string,
    message: string,
    options: { hint?: string; details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message)
    this.name = 'HttpProblem'
    this.status = status
    this.code = code
    this.hint = options.hint
    this.details = options.details ?? {}
    this.headers = options.headers
  }
}

/** 403: the authenticated agent may not do this. */
export function forbidden(message: string, hint?: string): HttpProblem {
  return new HttpProblem(403, RelayErrorCode.FORBIDDEN, message, { hint })
}

/** HTTP status of each protocol error code; a code not listed is the relay's failure (500). */
const STATUS_OF: Partial<Record<string, number>> = {
  [ErrorCode.VALIDATION]: 400,
  [ErrorCode.AGENT_NOT_FOUND]: 404,
  [ErrorCode.MESSAGE_NOT_FOUND]: 404,
  [ErrorCode.DELIVERY_NOT_FOUND]: 404,
  [ErrorCode.LEASE_LOST]: 409,
  [ErrorCode.INVALID_STATE]: 409,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.FORBIDDEN]: 403,
}

/** Fastify's own request errors, which are all the client's doing. */
const FRAMEWORK_ERRORS: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: RelayErrorCode.PAYLOAD_TOO_LARGE },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: RelayErrorCode.UNSUPPORTED_MEDIA_TYPE,
    message: 'Request bodies must be application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: ErrorCode.VALIDATION },
  FST_ERR_CTP_INVALID_CONTENT_TYPE: { status: 415, code: RelayErrorCode.UNSUPPORTED_MEDIA_TYPE },
  FST_ERR_BAD_URL: { status: 400, code: ErrorCode.VALIDATION, message: 'The request URL is malformed' },
  // @fastify/csrf-protection refusing a console session's state change (see console-mount.ts).
  FST_CSRF_INVALID_TOKEN: {
    status: 403,
    code: 'CSRF_REJECTED',
    message:
      'This change was refused: it does not carry the session’s CSRF token (X-CSRF-Token, from GET /api/v1/console/session)',
  },
  FST_CSRF_MISSING_SECRET: {
    status: 403,
    code: 'CSRF_REJECTED',
    message: 'This change was refused: the console session has no CSRF secret; sign in again',
  },
}

/** What an error becomes on the wire, and whether it is the relay's fault (to log as an error). */
export interface ErrorReply {
  status: number
  body: ErrorResponse
  serverFault: boolean
  headers?: Record<string, string>
}

/**
 * Maps anything a handler throws to a status and `{ error: { code, message, hint?, details? } }`. Protocol
 * errors keep their code (VALIDATION → 400, *_NOT_FOUND → 404, LEASE_LOST / INVALID_STATE / CONFLICT → 409); a
 * closed store (shutdown) and a database that is unavailable for now (unreachable, connection lost, disk
 * full, locked: a transient `StorageError`) are 503 with `Retry-After`, so clients retry and fail over; any
 * other failure is a 500 that names the request id and nothing else.
 */
export function toErrorReply(error: unknown, requestId: string): ErrorReply {
  if (error instanceof HttpProblem) {
    return {
      status: error.status,
      serverFault: error.status >= 500,
      headers: error.headers,
      body: { error: compact(error.code, error.message, error.hint, error.details) },
    }
  }
  if (isAgentCommError(error)) return fromAgentCommError(error, requestId)
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && code in FRAMEWORK_ERRORS) {
    const known = FRAMEWORK_ERRORS[code]!
    const message = known.message ?? (error instanceof Error ? error.message : 'Bad request')
    return { status: known.status, serverFault: false, body: { error: compact(known.code, message) } }
  }
  const status = (error as { statusCode?: unknown }).statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = error instanceof Error ? error.message : 'Bad request'
    return {
      status,
      serverFault: false,
      body: { error: compact(status === 404 ? RelayErrorCode.NOT_FOUND : ErrorCode.VALIDATION, message) },
    }
  }
  return internal(requestId)
}

function fromAgentCommError(error: AgentCommError, requestId: string): ErrorReply {
  if (error.code === ErrorCode.CLOSED) {
    return {
      status: 503,
      serverFault: false,
      headers: { 'retry-after': '1' },
      body: {
        error: compact(RelayErrorCode.UNAVAILABLE, 'The relay is shutting down', 'Retry in a moment.'),
      },
    }
  }
  if (isTransientStorageError(error)) return databaseUnavailable(requestId)
  const status = STATUS_OF[error.code]
  if (status === undefined) return internal(requestId)
  return {
    status,
    serverFault: false,
    body: { error: compact(error.code, error.message, error.hint, error.details) },
  }
}

/**
 * 503 for a database the relay cannot use right now. Logged as the relay's fault (the operator has a
 * database to look at), but told to the client as retryable: another replica, or this one a moment later,
 * may serve. Nothing of the driver's text is sent.
 */
function databaseUnavailable(requestId: string): ErrorReply {
  return {
    status: 503,
    serverFault: true,
    headers: { 'retry-after': '1' },
    body: {
      error: compact(
        RelayErrorCode.UNAVAILABLE,
        `The relay's database is unavailable right now (request id ${requestId})`,
        "Retry in a moment (a send retried with the same id is stored once). If it lasts, the operator finds the cause in the relay's log under this request id.",
        { requestId },
      ),
    },
  }
}

function internal(requestId: string): ErrorReply {
  return {
    status: 500,
    serverFault: true,
    body: {
      error: compact(
        RelayErrorCode.INTERNAL,
        `The relay failed to handle this request (request id ${requestId})`,
        "The operator finds the cause in the relay's log under this request id.",
        { requestId },
      ),
    },
  }
}

function compact(
  code: string,
  message: string,
  hint?: string,
  details?: Record<string, unknown>,
): ErrorResponse['error'] {
  // Sent only as JSON, where an undefined key is left out.
  return {
    code,
    message,
    hint,
    details: details === undefined || Object.keys(details).length === 0 ? undefined : details,
  }
}
