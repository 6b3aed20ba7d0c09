import type { z } from 'zod'

/** Stable, documented error codes. Every layer maps these (HTTP status, CLI exit code, MCP `isError`). */
export const ErrorCode = {
  VALIDATION: 'VALIDATION',
  AGENT_NOT_FOUND: 'AGENT_NOT_FOUND',
  MESSAGE_NOT_FOUND: 'MESSAGE_NOT_FOUND',
  DELIVERY_NOT_FOUND: 'DELIVERY_NOT_FOUND',
  LEASE_LOST: 'LEASE_LOST',
  INVALID_STATE: 'INVALID_STATE',
  SCHEMA_VERSION: 'SCHEMA_VERSION',
  STORAGE: 'STORAGE',
  CLOSED: 'CLOSED',
  CONFIG: 'CONFIG',
  FORBIDDEN: 'FORBIDDEN',
  CONFLICT: 'CONFLICT',
  TIMEOUT: 'TIMEOUT',
} as const

/** One of the stable error codes in {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Options shared by every agent-comm error. */
export interface AgentCommErrorOptions {
  /** What the person should do next, e.g. the command that fixes it. */
  hint?: string
  /** Structured facts about the failure (ids, states), safe to print. */
  details?: Record<string, unknown>
  cause?: unknown
}

/** Base class of every error agent-comm throws on purpose; `code` is stable across versions. */
export class AgentCommError extends Error {
  readonly code: ErrorCode
  readonly hint: string | undefined
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: AgentCommErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.hint = options.hint
    this.details = options.details ?? {}
  }

  /** A plain JSON form for wire formats and `--json` output. */
  toJSON(): { code: ErrorCode; message: string; hint?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(Object.keys(this.details).length === 0 ? {} : { details: this.details }),
    }
  }
}

/**
 * The base of an error class whose constructor takes a message and options and whose `code` is fixed: each
 * such class below is `class XError extends withCode(ErrorCode.X) {}`.
 */
function withCode(code: ErrorCode) {
  return class extends AgentCommError {
    constructor(message: string, options: AgentCommErrorOptions = {}) {
      super(code, message, options)
    }
  }
}

/**
 * What to do about `issues` when the thrower gave no hint: change the fields they name (or the whole input,
 * for issues at its root). `undefined` without issues.
 */
function issuesHint(issues: ReadonlyArray<{ path: string }>): string | undefined {
  if (issues.length === 0) return undefined
  const fields = [...new Set(issues.map((i) => i.path).filter((p) => p !== '(root)'))]
  return fields.length === 0
    ? 'Change the input as the error says and try again.'
    : `Change ${fields.join(', ')} as the error says and try again.`
}

/**
 * Input failed validation; `issues` lists each problem with its path. Without a `hint` of its own, one
 * naming the fields of `issues` is given.
 */
export class ValidationError extends AgentCommError {
  readonly issues: ReadonlyArray<{ path: string; message: string }>

  constructor(
    message: string,
    issues: ReadonlyArray<{ path: string; message: string }> = [],
    options: AgentCommErrorOptions = {},
  ) {
    super(ErrorCode.VALIDATION, message, {
      ...options,
      hint: options.hint ?? issuesHint(issues),
      details: { ...options.details, issues },
    })
    this.issues = issues
  }
}

/** The named agent is not registered. */
export class AgentNotFoundError extends AgentCommError {
  constructor(agentId: string, options: AgentCommErrorOptions = {}) {
    super(ErrorCode.AGENT_NOT_FOUND, `Agent '${agentId}' not registered`, {
      hint: `Register it first: agent-comm register ${agentId} -c <capabilities> -d <device>`,
      ...options,
      details: { agentId, ...options.details },
    })
  }
}

/**
 * A `*` or `capability:<name>` message that no registered agent other than its sender matches: sending it
 * would store nothing anyone could receive or look up. `capability` is undefined for a broadcast.
 */
export class NoRecipientsError extends AgentCommError {
  constructor(capability: string | undefined, options: AgentCommErrorOptions = {}) {
    super(
      ErrorCode.AGENT_NOT_FOUND,
      capability === undefined
        ? 'No agent to broadcast to: no other agent is registered'
        : `No agent has capability '${capability}'`,
      {
        hint:
          capability === undefined
            ? 'Register the recipients first (agent-comm register <name> -c <capabilities> -d <device>), or hold the message for agents that register later (send --queue)'
            : `List who can do what with: agent-comm agents. Register an agent with it (agent-comm register <name> -c ${capability} -d <device>), or hold the message for agents that register later (send --queue)`,
        ...options,
        // No key rather than an undefined one: `toJSON` and the relay leave out empty details.
        details: { ...(capability === undefined ? {} : { capability }), ...options.details },
      },
    )
  }
}

/** No message with this id exists (or it was cleaned up). */
export class MessageNotFoundError extends AgentCommError {
  constructor(messageId: string, options: AgentCommErrorOptions = {}) {
    super(ErrorCode.MESSAGE_NOT_FOUND, `Message '${messageId}' not found`, {
      hint: 'Check the id (agent-comm search lists messages); expired and cleaned-up messages are gone.',
      ...options,
      details: { messageId, ...options.details },
    })
  }
}

/** The message exists but has no delivery to this agent. */
export class DeliveryNotFoundError extends AgentCommError {
  constructor(messageId: string, agentId: string, options: AgentCommErrorOptions = {}) {
    super(ErrorCode.DELIVERY_NOT_FOUND, `Message '${messageId}' was not sent to agent '${agentId}'`, {
      hint: `See who it was delivered to: agent-comm status ${messageId}`,
      ...options,
      details: { messageId, agentId, ...options.details },
    })
  }
}

/** The caller's lease is gone: it expired and the delivery was re-claimed, or the receipt is stale. */
export class LeaseLostError extends AgentCommError {
  constructor(messageId: string, agentId: string, options: AgentCommErrorOptions = {}) {
    super(
      ErrorCode.LEASE_LOST,
      `Lease on message '${messageId}' for agent '${agentId}' was lost: it expired and the message was claimed again`,
      {
        hint: 'Another consumer now owns it. Use a longer lease or extend it while you work (extendLease).',
        ...options,
        details: { messageId, agentId, ...options.details },
      },
    )
  }
}

/** The operation does not apply in the delivery's current state (e.g. nack of an acked message). */
export class InvalidStateError extends withCode(ErrorCode.INVALID_STATE) {}

/** The database was written by a newer agent-comm than this one. */
export class SchemaVersionError extends withCode(ErrorCode.SCHEMA_VERSION) {}

/** The storage layer failed (locked, corrupt, unreadable file). */
export class StorageError extends withCode(ErrorCode.STORAGE) {}

/** The object was used after `close()`. */
export class ClosedError extends AgentCommError {
  constructor(what: string) {
    super(ErrorCode.CLOSED, `${what} is closed`, { hint: 'Open a new one; do not use it after close().' })
  }
}

/** A configuration value (often an environment variable) is invalid. */
export class ConfigError extends withCode(ErrorCode.CONFIG) {}

/** The caller may not act as the agent it named (e.g. an MCP session bound to another agent). */
export class ForbiddenError extends withCode(ErrorCode.FORBIDDEN) {}

/**
 * The write clashes with what is stored: a message id already used by another sender, or the same sender
 * re-sending an id with different content. Nothing was written.
 */
export class ConflictError extends withCode(ErrorCode.CONFLICT) {}

/**
 * A wait for a reply ran out; the request itself was sent and stays durable, so the wait can be resumed
 * (`awaitReply(requestId)`). `requestId` says which.
 */
export class RequestTimeoutError extends AgentCommError {
  readonly requestId: string

  constructor(requestId: string, timeoutMs: number, options: AgentCommErrorOptions = {}) {
    super(ErrorCode.TIMEOUT, `No reply to request '${requestId}' within ${timeoutMs} ms`, {
      hint: `The request stays delivered; wait again with awaitReply('${requestId}') (MCP: comm_await_reply; CLI: run the same agent-comm request again with the same --idempotency-key, which sends nothing new and waits again — without one it sends a second request)`,
      ...options,
      details: { requestId, timeoutMs, ...options.details },
    })
    this.requestId = requestId
  }
}

/** True when `error` is an {@link AgentCommError}, optionally with the given code. */
export function isAgentCommError(error: unknown, code?: ErrorCode): error is AgentCommError {
  return error instanceof AgentCommError && (code === undefined || error.code === code)
}

/**
 * True when `error` says a server was out of reach for now, not that the call was wrong: the HTTP
 * transport's relay that cannot be reached or answers 503 (a restart, a graceful stop), whose errors carry
 * `details.relayCode: 'UNAVAILABLE'`. A long-running wait or loop retries these with backoff.
 */
export function isUnavailableError(error: unknown): boolean {
  return error instanceof AgentCommError && error.details.relayCode === 'UNAVAILABLE'
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(root)' : path.map((p) => String(p)).join('.')
}

/**
 * Turns a zod error into a {@link ValidationError} whose message lists every issue with its path, and whose
 * hint names the fields to change.
 */
export function toValidationError(error: z.ZodError, what: string): ValidationError {
  const issues = error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }))
  const summary = issues.map((i) => (i.path === '(root)' ? i.message : `${i.path}: ${i.message}`)).join('; ')
  return new ValidationError(`Invalid ${what}: ${summary}`, issues)
}

/** Parses `value` with `schema`, throwing a {@link ValidationError} that names `what` on failure. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) throw toValidationError(result.error, what)
  return result.data
}
