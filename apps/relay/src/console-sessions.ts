import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '@agent-comm/protocol'
import { RelayErrorCode } from '@agent-comm/transport-http'
import type { FastifyRequest } from 'fastify'
import type { Caller } from './auth.js'
import { HttpProblem } from './http-errors.js'

/** Name of the console's session cookie. */
export const SESSION_COOKIE = 'agent_comm_session'

/** Header that carries a session's CSRF token on every state-changing request. */
export const CSRF_HEADER = 'x-csrf-token'

/** One signed-in person: who the relay verified, and the token their page must echo on changes. */
export interface ConsoleSession {
  agentId: string
  admin: boolean
  csrfToken: string
  expiresAt: number
}

/** Options of {@link ConsoleSessions}. */
export interface ConsoleSessionsOptions {
  clock: Clock
  /** How long a session lasts after sign-in, in ms (8 hours). */
  ttlMs?: number
  /** Most sessions kept at once; the oldest go first (10 000). */
  maxSessions?: number
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(digest(a))
  const right = Buffer.from(digest(b))
  return timingSafeEqual(left, right)
}

/**
 * The console's sign-in sessions, in memory: the cookie holds a random session id (stored here only as its
 * SHA-256, so a memory dump holds no usable cookie), each session a CSRF token of its own (synchroniser
 * token: a state change must echo it in `X-CSRF-Token`, which a cross-site form or image cannot), and the
 * one-time login tokens of a local console. A relay restart signs everybody out.
 */
export class ConsoleSessions {
  readonly #clock: Clock
  readonly #ttlMs: number
  readonly #max: number
  readonly #sessions = new Map<string, ConsoleSession>()
  readonly #loginTokens = new Map<string, { agentId: string; admin: boolean }>()

  constructor(options: ConsoleSessionsOptions) {
    this.#clock = options.clock
    this.#ttlMs = options.ttlMs ?? 8 * 3_600_000
    this.#max = options.maxSessions ?? 10_000
  }

  /** Session lifetime in ms. */
  get ttlMs(): number {
    return this.#ttlMs
  }

  /** Issues a one-time login token for `agentId` (a local console prints it in its URL). */
  issueLoginToken(agentId: string, admin: boolean): string {
    const token = randomBytes(24).toString('base64url')
    this.#loginTokens.set(digest(token), { agentId, admin })
    return token
  }

  /** Consumes a login token: the identity it was issued for, once; `undefined` for an unknown or used one. */
  redeemLoginToken(token: string): { agentId: string; admin: boolean } | undefined {
    const key = digest(token)
    const found = this.#loginTokens.get(key)
    if (found !== undefined) this.#loginTokens.delete(key)
    return found
  }

  /** Starts a session; returns the cookie value and the session. */
  create(agentId: string, admin: boolean): { cookie: string; session: ConsoleSession } {
    if (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value
      if (oldest !== undefined) this.#sessions.delete(oldest)
    }
    const cookie = randomBytes(32).toString('base64url')
    const session: ConsoleSession = {
      agentId,
      admin,
      csrfToken: randomBytes(24).toString('base64url'),
      expiresAt: this.#clock.now() + this.#ttlMs,
    }
    this.#sessions.set(digest(cookie), session)
    return { cookie, session }
  }

  /** The live session of a cookie value, or `undefined` (unknown, signed out or expired). */
  find(cookie: string | undefined): ConsoleSession | undefined {
    if (cookie === undefined || cookie === '') return undefined
    const key = digest(cookie)
    const session = this.#sessions.get(key)
    if (session === undefined) return undefined
    if (session.expiresAt <= this.#clock.now()) {
      this.#sessions.delete(key)
      return undefined
    }
    return session
  }

  /** Ends the session of a cookie value (signing out twice is harmless). */
  destroy(cookie: string | undefined): void {
    if (cookie !== undefined) this.#sessions.delete(digest(cookie))
  }

  /**
   * The caller of a request that carries a session cookie and no signature, or `undefined` when it has no
   * session cookie (then the HMAC check applies). A cookie that names no live session is 401; a state
   * change without the session's CSRF token is 403 CSRF_REJECTED.
   */
  callerOf(request: FastifyRequest): Caller | undefined {
    if (request.headers['x-agent-id'] !== undefined) return undefined
    const cookie = request.cookies?.[SESSION_COOKIE]
    if (cookie === undefined || cookie === '') return undefined
    const session = this.find(cookie)
    if (session === undefined) {
      throw new HttpProblem(401, RelayErrorCode.UNAUTHENTICATED, 'The console session expired or was ended', {
        hint: 'Sign in to the console again.',
      })
    }
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER]
      if (typeof sent !== 'string' || !sameText(sent, session.csrfToken)) {
        throw new HttpProblem(
          403,
          'CSRF_REJECTED',
          'This change was refused: it does not carry the session’s CSRF token',
          {
            hint: 'Send the X-CSRF-Token header with the csrfToken from GET /api/v1/console/session (the console page does).',
          },
        )
      }
    }
    return { agentId: session.agentId, admin: session.admin }
  }

  /** Compares a presented secret with an agent's valid secrets in constant time per secret. */
  static secretMatches(presented: string, valid: readonly string[]): boolean {
    let matched = false
    for (const secret of valid) if (sameText(presented, secret)) matched = true
    return matched
  }
}
