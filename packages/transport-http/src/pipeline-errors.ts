import type { AgentCommError } from '@agent-comm/protocol'
import { errorMessage } from '@agent-comm/protocol'
import type { Dispatcher } from 'undici'
import type { z } from 'zod'
import { RelayErrorCode } from './api.js'
import { errorFromResponse, explainOlderRelay, RelayError, type RelayRequest } from './errors.js'
import { headerOf } from './response-body.js'

// The typed errors the request pipeline makes of a failed exchange with a relay, named by its base URL.

/**
 * An error answer as the typed error the local transports throw, explained when it comes from an older
 * relay that lacks the endpoint.
 */
export function errorOfAnswer(
  response: Dispatcher.ResponseData,
  text: string,
  request: RelayRequest,
): AgentCommError {
  return explainOlderRelay(
    errorFromResponse(response.statusCode, text, headerOf(response.headers, 'x-request-id')),
    request,
  )
}

/** Where an answer came from: the relay's base URL, and its HTTP status. */
export interface Answer {
  relay: string
  status: number
}

/**
 * A 2xx answer parsed with `schema`. One that is not JSON, or not the shape this client expects, is not a
 * bug here: whatever answers at the URL is not an agent-comm relay (a proxy, a login page, another
 * version), which {@link invalidResponse} says.
 */
export function parseAnswer<S extends z.ZodType>(schema: S, text: string, answer: Answer): z.output<S> {
  const { relay, status } = answer
  let json: unknown
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch (error) {
    throw invalidResponse(
      relay,
      `status ${status} with a body that is not JSON (${describe(error)})`,
      error,
      status,
    )
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`
    throw invalidResponse(
      relay,
      `status ${status} with JSON this client does not expect${where}: ${issue?.message ?? 'invalid'}`,
      parsed.error,
      status,
    )
  }
  return parsed.data
}

/** The relay at `relay` answered something no agent-comm relay sends: `UNAVAILABLE`, naming the URL. */
export function invalidResponse(relay: string, what: string, cause: unknown, status?: number): RelayError {
  return new RelayError(
    'STORAGE',
    RelayErrorCode.UNAVAILABLE,
    status,
    `The relay at ${relay} answered an invalid response: ${what}`,
    {
      hint: 'Check that this URL points to an agent-comm relay of a matching version (not a proxy, a login page or another service), and look at its log.',
      cause,
      details: { invalidResponse: true },
    },
  )
}

/** The relay at `relay` (and the `others` given besides it) could not be reached: `UNAVAILABLE`. */
export function networkError(error: unknown, relay: string, others: number): RelayError {
  const code = (error as { code?: string }).code
  const reason = errorMessage(error)
  return new RelayError(
    'STORAGE',
    RelayErrorCode.UNAVAILABLE,
    undefined,
    `Cannot reach the relay at ${relay}${others > 0 ? ` (nor the other ${others} given)` : ''}: ${reason}`,
    {
      hint: 'Check that the relay is running (agent-comm relay start) and that this URL and port are reachable.',
      cause: error,
      details: code === undefined ? undefined : { networkCode: code },
    },
  )
}

/**
 * The relay's TOO_MANY_WAITS once every retry was refused too: says how many attempts were made over how
 * much of the call's wait, keeping the relay's hint (which names --max-waits).
 */
export function waitRefusedThroughout(error: RelayError, attempts: number, waitMs?: number): RelayError {
  const over = waitMs === undefined ? '' : ` over its ${waitMs} ms wait`
  return new RelayError(
    error.code,
    error.relayCode,
    error.status,
    `${error.message} (refused all ${attempts} attempts${over})`,
    {
      hint:
        error.hint ??
        'Wait on fewer at once: one consumer needs one long poll or one stream. Nothing was claimed.',
      details: { ...error.details, attempts, ...(waitMs === undefined ? {} : { waitMs }) },
      cause: error,
    },
  )
}

/** The relay's overload error once every retry was shed too: says how many attempts were made. */
export function overloadedThroughout(error: RelayError, attempts: number): RelayError {
  return new RelayError(
    error.code,
    error.relayCode,
    error.status,
    `${error.message} (refused all ${attempts} attempts)`,
    {
      hint:
        error.hint ??
        "Send it again in a while: nothing was done. If it lasts, the relay's operator adds replicas or raises its overload limits.",
      details: { ...error.details, attempts },
      cause: error,
    },
  )
}

function describe(error: unknown): string {
  return errorMessage(error)
}
