import {
  AgentCommError,
  type AgentCommErrorOptions,
  AgentNotFoundError,
  ErrorCode as Codes,
  ConfigError,
  ConflictError,
  DeliveryNotFoundError,
  type ErrorCode,
  InvalidStateError,
  LeaseLostError,
  MessageNotFoundError,
  SchemaVersionError,
  StorageError,
  ValidationError,
} from '@agent-comm/protocol'
import { ErrorResponseSchema, RelayErrorCode } from './api.js'

/**
 * A failure the relay (or the way to it) reported that has no protocol meaning of its own: authentication,
 * authorization, rate limits, an unreachable or failing relay. `relayCode` is the relay's stable code
 * (`UNAUTHENTICATED`, `FORBIDDEN`, …) and `status` the HTTP status (undefined when no response came).
 * `code` is the nearest protocol code, so callers that only know those still react sensibly: `CONFIG` for
 * what a person must fix (secret, clock, identity, URL), `VALIDATION` for a refused body, `STORAGE` for a
 * relay that is busy, down or failing.
 */
export class RelayError extends AgentCommError {
  readonly relayCode: string
  readonly status: number | undefined

  constructor(
    code: ErrorCode,
    relayCode: string,
    status: number | undefined,
    message: string,
    options: AgentCommErrorOptions = {},
  ) {
    super(code, message, {
      ...options,
      // Details are shown key by key (inspect, --json): no key rather than an undefined one.
      details: { relayCode, ...(status === undefined ? {} : { status }), ...options.details },
    })
    this.relayCode = relayCode
    this.status = status
  }
}

const PROTOCOL_CODES = new Set<string>(Object.values(Codes))

/**
 * Statuses saying the relay is out of reach for now: a relay shutting down (or without its database) answers
 * 503; a proxy in front of replicas answers 502 or 504 with a page of its own when the replica it chose died
 * under the request or did not answer in time, and 503 when it has none left.
 */
export const UNAVAILABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504])

function protocolCodeOf(relayCode: string, status: number): ErrorCode {
  switch (relayCode) {
    case RelayErrorCode.UNAUTHENTICATED:
    case RelayErrorCode.AUTH_TIMESTAMP:
    case RelayErrorCode.AUTH_REPLAY:
    case RelayErrorCode.FORBIDDEN:
    case RelayErrorCode.NOT_FOUND:
      return Codes.CONFIG
    case RelayErrorCode.PAYLOAD_TOO_LARGE:
    case RelayErrorCode.UNSUPPORTED_MEDIA_TYPE:
      return Codes.VALIDATION
    default:
      return status >= 400 && status < 500 && status !== 429 ? Codes.CONFIG : Codes.STORAGE
  }
}

/**
 * Turns an error response into the typed error the local transports would have thrown: the protocol codes
 * (`LEASE_LOST`, `MESSAGE_NOT_FOUND`, `VALIDATION`, …) come back as {@link AgentCommError}s with that code
 * (a `ValidationError` with its issues for `VALIDATION`), the relay's own codes as a {@link RelayError}.
 */
export function errorFromResponse(status: number, text: string, requestId?: string): AgentCommError {
  let parsed: ReturnType<typeof ErrorResponseSchema.safeParse> | undefined
  try {
    parsed = ErrorResponseSchema.safeParse(JSON.parse(text))
  } catch {
    parsed = undefined
  }
  if (parsed === undefined || !parsed.success) {
    // A proxy's own page: the relay is out of reach for now, as when it cannot be connected to, so a call that
    // was not retried (a claim, a long poll) reports what waiting loops retry (`isUnavailableError`).
    if (UNAVAILABLE_STATUSES.has(status)) {
      return new RelayError(
        Codes.STORAGE,
        RelayErrorCode.UNAVAILABLE,
        status,
        `The relay answered HTTP ${status} without an agent-comm error body, as a proxy does when no relay behind it answered (it sent ${foreignBody(text)})`,
        {
          hint: "Retry in a moment; if it lasts, check that the relay (every replica behind the proxy) is running, and the proxy's log.",
        },
      )
    }
    return new RelayError(
      status >= 500 ? Codes.STORAGE : Codes.CONFIG,
      status >= 500 ? RelayErrorCode.INTERNAL : 'HTTP_ERROR',
      status,
      `The server at the relay URL answered HTTP ${status} with ${foreignBody(text)} instead of an agent-comm error: it does not look like an agent-comm relay`,
      { hint: 'Check that the base URL points at an agent-comm relay (GET /api/v1/health).' },
    )
  }
  const { code, message, hint, details = {} } = parsed.data.error
  const options: AgentCommErrorOptions = {
    hint,
    details: { ...details, ...(requestId === undefined ? {} : { requestId }) },
  }
  if (code === Codes.VALIDATION) {
    const issues = Array.isArray(details.issues)
      ? (details.issues as unknown[]).flatMap((issue) =>
          typeof issue === 'object' && issue !== null && 'path' in issue && 'message' in issue
            ? [{ path: String(issue.path), message: String(issue.message) }]
            : [],
        )
      : []
    return new ValidationError(message, issues, options)
  }
  if (PROTOCOL_CODES.has(code)) return protocolError(code as ErrorCode, message, details, options)
  return new RelayError(protocolCodeOf(code, status), code, status, message, options)
}

/** What a relay older than this client says about a field it does not know: zod's strict-object issue. */
const UNRECOGNIZED_KEYS = /^Unrecognized keys?: (.+)$/

/** The request a relay answered: its URL (origin and path prefix), method and path (without the query). */
export interface RelayRequest {
  relay: string
  method: string
  path: string
}

/**
 * `error`, as the relay of `request` answered it, explained when it shows that the relay runs an older
 * agent-comm than this client: it has no endpoint the client calls (404 `NOT_FOUND`: this client only calls
 * endpoints of its own wire contract), or it refused a field of the body as unknown (its request schemas
 * are strict, so a field added since it was built is an "Unrecognized key"). Said plainly, with what to do
 * (upgrade relays before their clients), instead of "No endpoint …" or "Change the input …", which send
 * the user looking for a mistake they did not make. The error keeps its class and code (a field refused
 * is still a `VALIDATION` error, so a batch still retries its items one by one); `details.reason` is
 * `'older-relay'`. Any other error is returned as it is.
 */
export function explainOlderRelay(error: AgentCommError, request: RelayRequest): AgentCommError {
  const next = `Upgrade the relay at ${request.relay} to this client's version (upgrade relays before their clients), or use a client of the relay's version until then.`
  if (error instanceof RelayError && error.relayCode === RelayErrorCode.NOT_FOUND && error.status === 404) {
    return new RelayError(
      error.code,
      error.relayCode,
      error.status,
      `The relay at ${request.relay} has no endpoint ${request.method} ${request.path}: it runs an older agent-comm than this client`,
      { hint: next, cause: error, details: { ...error.details, reason: OLDER_RELAY } },
    )
  }
  if (!(error instanceof ValidationError)) return error
  const unknown = error.issues.flatMap((issue) => {
    const keys = UNRECOGNIZED_KEYS.exec(issue.message)?.[1]
    if (keys === undefined) return []
    const names = [...keys.matchAll(/"([^"]*)"/g)].map((match) => match[1] as string)
    const at = issue.path === '(root)' || issue.path === '' ? '' : `${issue.path}.`
    return names.map((name) => `${at}${name}`)
  })
  if (unknown.length === 0) return error
  return new ValidationError(
    `The relay at ${request.relay} does not know ${unknown.join(', ')} (sent by ${request.method} ${request.path}): it runs an older agent-comm than this client. The relay said: ${error.message}`,
    error.issues,
    { hint: next, cause: error, details: { ...error.details, reason: OLDER_RELAY, unknownFields: unknown } },
  )
}

/** `details.reason` of an error {@link explainOlderRelay} explained. */
export const OLDER_RELAY = 'older-relay'

/**
 * What a body that is not an agent-comm error holds, in a few words, never the body itself: the server at a
 * wrong URL (a web server, a proxy) sends pages of HTML that would bury the error and may quote anything.
 */
function foreignBody(text: string): string {
  if (text.trim() === '') return 'an empty body'
  if (/^\s*<(?:!doctype|html|head|body|\?xml)/i.test(text)) return 'an HTML page'
  try {
    JSON.parse(text)
    return 'JSON of another shape'
  } catch {
    return `${Buffer.byteLength(text)} bytes of text`
  }
}

/** The protocol's own subclass for `code`, so `instanceof LeaseLostError` works as it does locally. */
function protocolError(
  code: ErrorCode,
  message: string,
  details: Record<string, unknown>,
  options: AgentCommErrorOptions,
): AgentCommError {
  const messageId = typeof details.messageId === 'string' ? details.messageId : undefined
  const agentId = typeof details.agentId === 'string' ? details.agentId : undefined
  switch (code) {
    case Codes.AGENT_NOT_FOUND:
      if (agentId !== undefined) return new AgentNotFoundError(agentId, options)
      break
    case Codes.MESSAGE_NOT_FOUND:
      if (messageId !== undefined) return new MessageNotFoundError(messageId, options)
      break
    case Codes.DELIVERY_NOT_FOUND:
      if (messageId !== undefined && agentId !== undefined)
        return new DeliveryNotFoundError(messageId, agentId, options)
      break
    case Codes.LEASE_LOST:
      if (messageId !== undefined && agentId !== undefined)
        return new LeaseLostError(messageId, agentId, options)
      break
    case Codes.INVALID_STATE:
      return new InvalidStateError(message, options)
    case Codes.SCHEMA_VERSION:
      return new SchemaVersionError(message, options)
    case Codes.STORAGE:
      return new StorageError(message, options)
    case Codes.CONFIG:
      return new ConfigError(message, options)
    case Codes.CONFLICT:
      return new ConflictError(message, options)
    default:
      break
  }
  return new AgentCommError(code, message, options)
}

/**
 * Errors a batch request can get because of one of its items: the calls are then sent one by one, so only
 * that item's caller sees its error. Anything else (authentication, rate limits, an unreachable relay) is
 * the same for every call of the group.
 */
const ITEM_ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  Codes.VALIDATION,
  Codes.AGENT_NOT_FOUND,
  Codes.MESSAGE_NOT_FOUND,
  Codes.DELIVERY_NOT_FOUND,
  Codes.LEASE_LOST,
  Codes.INVALID_STATE,
  Codes.SCHEMA_VERSION,
  Codes.CONFLICT,
])

/** Whether a coalesced batch failed because of one of its items (see {@link ITEM_ERROR_CODES}). */
export function isItemError(error: unknown): boolean {
  if (error instanceof RelayError) return error.relayCode === RelayErrorCode.PAYLOAD_TOO_LARGE
  return error instanceof AgentCommError && ITEM_ERROR_CODES.has(error.code)
}
