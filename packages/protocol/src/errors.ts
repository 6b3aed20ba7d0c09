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
  ABORTED: 'ABORTED',
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

/** Options of a {@link StorageError}: those of every error, and whether the failure is transient. */
export interface StorageErrorOptions extends AgentCommErrorOptions {
  /**
   * The database could not be used right now but the same call may succeed later, unchanged: the server is
   * unreachable or dropped the connection, the disk is full, a lock or a timeout stopped it. False (the
   * default) for what needs a person: a damaged file, a missing right, a rejected statement.
   */
  transient?: boolean
}

/** The storage layer failed (locked, corrupt, unreadable file). */
export class StorageError extends AgentCommError {
  /** True when the database is unavailable for now and the same call may succeed later (see {@link StorageErrorOptions}). */
  readonly transient: boolean

  constructor(message: string, options: StorageErrorOptions = {}) {
    const { transient = false, ...rest } = options
    super(ErrorCode.STORAGE, message, rest)
    this.transient = transient
  }
}

/** True when `error` is a {@link StorageError} for a database that is unavailable for now (worth retrying). */
export function isTransientStorageError(error: unknown): error is StorageError {
  return error instanceof StorageError && error.transient
}

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

/**
 * The caller's signal stopped the wait for a reply after the request was sent: the request stays delivered
 * and durable, and a reply to it waits in the requester's inbox, so the wait can be resumed
 * (`awaitReply(requestId)`). `requestId` says which request; `cause` is the signal's reason.
 */
export class RequestAbortedError extends AgentCommError {
  readonly requestId: string

  constructor(requestId: string, reason: unknown, options: AgentCommErrorOptions = {}) {
    super(
      ErrorCode.ABORTED,
      `The wait for the reply to request '${requestId}' was stopped: ${errorMessage(reason)}`,
      {
        hint: `The request stays delivered; wait again with awaitReply('${requestId}'), or leave its reply in the requester's inbox`,
        cause: reason,
        ...options,
        details: { requestId, ...options.details },
      },
    )
    this.requestId = requestId
  }
}

/** What a caught value says, in plain text: an error's message, or the value itself as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** True when `error` is an {@link AgentCommError}, optionally with the given code. */
export function isAgentCommError(error: unknown, code?: ErrorCode): error is AgentCommError {
  return error instanceof AgentCommError && (code === undefined || error.code === code)
}

/**
 * True when `error` says a server was out of reach for now, not that the call was wrong: the HTTP
 * transport's relay that cannot be reached or answers 503 (a restart, a graceful stop), whose errors carry
 * `details.relayCode: 'UNAVAILABLE'`, or a database unavailable for now (a PostgreSQL restart, crash or
 * failover, a dropped connection: a transient {@link StorageError}). A long-running wait or loop retries
 * these with backoff.
 */
export function isUnavailableError(error: unknown): boolean {
  return (
    isTransientStorageError(error) ||
    (error instanceof AgentCommError && error.details.relayCode === 'UNAVAILABLE')
  )
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(root)' : path.map((p) => String(p)).join('.')
}

/** Most issues a validation error lists, and most unknown keys one issue names (the input chose how many). */
const MAX_LISTED_ISSUES = 20
const MAX_LISTED_KEYS = 10
/** Longest path or key shown, in characters. */
const MAX_SHOWN_NAME = 128

function shortName(name: string): string {
  return name.length <= MAX_SHOWN_NAME ? name : `${name.slice(0, MAX_SHOWN_NAME)}…`
}

/**
 * An issue's message, bounded: zod lists every unknown key of an object, and an input with 80 000 of them
 * would make an error of megabytes (twice over, with the details).
 */
function issueMessage(issue: z.ZodError['issues'][number]): string {
  if (issue.code !== 'unrecognized_keys') return issue.message
  const { keys } = issue
  if (keys.length <= MAX_LISTED_KEYS && keys.every((key) => key.length <= MAX_SHOWN_NAME))
    return issue.message
  const shown = keys.slice(0, MAX_LISTED_KEYS).map((key) => JSON.stringify(shortName(key)))
  const more = keys.length > MAX_LISTED_KEYS ? ` and ${keys.length - MAX_LISTED_KEYS} more` : ''
  return `Unrecognized key${keys.length === 1 ? '' : 's'}: ${shown.join(', ')}${more}`
}

/**
 * Turns a zod error into a {@link ValidationError} whose message lists the issues with their paths (the
 * first {@link MAX_LISTED_ISSUES}, then how many more), and whose hint names the fields to change.
 */
export function toValidationError(error: z.ZodError, what: string): ValidationError {
  const all = error.issues.map((issue) => ({
    path: shortName(formatPath(issue.path)),
    message: issueMessage(issue),
  }))
  const issues =
    all.length <= MAX_LISTED_ISSUES
      ? all
      : [
          ...all.slice(0, MAX_LISTED_ISSUES),
          { path: '(root)', message: `and ${all.length - MAX_LISTED_ISSUES} more issues` },
        ]
  const summary = issues.map((i) => (i.path === '(root)' ? i.message : `${i.path}: ${i.message}`)).join('; ')
  return new ValidationError(`Invalid ${what}: ${summary}`, issues)
}

/** Parses `value` with `schema`, throwing a {@link ValidationError} that names `what` on failure. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) throw toValidationError(result.error, what)
  return result.data
}
