import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '@agent-comm/protocol'
import { RelayErrorCode } from '@agent-comm/transport-http'
import type { FastifyRequest } from 'fastify'
import type { Caller } from './auth.js'
import type { ConsoleSessionRecord, ConsoleStore } from './console-store.js'
import { HttpProblem } from './http-errors.js'

/** Default name of the console's session cookie (a relay's; each local console has its own). */
export const SESSION_COOKIE = 'agent_comm_session'

/** Header that carries a session's CSRF token on every state-changing request. */
export const CSRF_HEADER = 'x-csrf-token'

/** Header that carries the session's page key on every request made with the session cookie. */
export const PAGE_KEY_HEADER = 'x-console-key'

/**
 * What @fastify/csrf-protection reads (its `@fastify/session` mode reads `request.session._csrf`): the
 * CSRF secret of the console session a request was signed in with, set by {@link ConsoleSessions.callerOf}.
 */
export interface CsrfSessionSlot {
  _csrf?: string
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session's CSRF secret slot, or null for a request without a console session. */
    session: CsrfSessionSlot | null
  }
}

/** Options of {@link ConsoleSessions}. */
export interface ConsoleSessionsOptions {
  store: ConsoleStore
  clock: Clock
  /** How long a session lasts after sign-in, in ms (8 hours). */
  ttlMs?: number
  /** The session cookie's name ({@link SESSION_COOKIE}). */
  cookieName?: string
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

function sameText(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(digest(a)), Buffer.from(digest(b)))
}

/**
 * The console's sign-in sessions, in the database every replica of the relay shares: the cookie holds a
 * random session id, stored only as its SHA-256 (a copy of the database holds no usable cookie); expiry is
 * read on the relay's clock; signing out deletes the row, so it ends the session on every replica. Each
 * session has the secret its CSRF tokens are derived from (by @fastify/csrf-protection). The one-time
 * login tokens of a local console stay in memory: that console is one process.
 */
export class ConsoleSessions {
  readonly #store: ConsoleStore
  readonly #clock: Clock
  readonly #ttlMs: number
  /**
   * The session cookie's name. Browsers scope cookies by host, not port: two consoles on one host (a relay's
   * and `agent-comm console`) must use different names, or each sign-in overwrites the other's cookie.
   */
  readonly cookieName: string
  readonly #loginTokens = new Map<string, { agentId: string; admin: boolean }>()

  constructor(options: ConsoleSessionsOptions) {
    this.#store = options.store
    this.#clock = options.clock
    this.#ttlMs = options.ttlMs ?? 8 * 3_600_000
    this.cookieName = options.cookieName ?? SESSION_COOKIE
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

  /** Starts a session with the CSRF secret made for it; returns the cookie value and the session. */
  async create(
    agentId: string,
    admin: boolean,
    csrfSecret: string,
  ): Promise<{ cookie: string; session: ConsoleSessionRecord }> {
    const now = this.#clock.now()
    // Expired sessions go when new ones come: an indexed range delete, so the table holds live ones.
    await this.#store.pruneSessions(now)
    const cookie = randomBytes(32).toString('base64url')
    const session: ConsoleSessionRecord = {
      idHash: digest(cookie),
      agentId,
      admin,
      csrfSecret,
      createdAt: now,
      expiresAt: now + this.#ttlMs,
    }
    await this.#store.createSession(session)
    return { cookie, session }
  }

  /** The live session of a cookie value, or `undefined` (unknown, signed out or expired). */
  async find(cookie: string | undefined): Promise<ConsoleSessionRecord | undefined> {
    if (cookie === undefined || cookie === '') return undefined
    return this.#store.findSession(digest(cookie), this.#clock.now())
  }

  /** Ends the session of a cookie value, on every replica (signing out twice is harmless). */
  async destroy(cookie: string | undefined): Promise<void> {
    if (cookie !== undefined && cookie !== '') await this.#store.deleteSession(digest(cookie))
  }

  /**
   * The caller of a request that carries a session cookie and no signature, or `undefined` when it has no
   * session cookie (then the HMAC check applies). A cookie that names no live session is 401. The
   * session's CSRF secret is put where @fastify/csrf-protection reads it; its hook refuses a state change
   * without a valid token.
   */
  async callerOf(request: FastifyRequest): Promise<Caller | undefined> {
    if (request.headers['x-agent-id'] !== undefined) return undefined
    const cookie = request.cookies?.[this.cookieName]
    if (cookie === undefined || cookie === '') return undefined
    const session = await this.find(cookie)
    if (session === undefined) {
      throw new HttpProblem(401, RelayErrorCode.UNAUTHENTICATED, 'The console session expired or was ended', {
        hint: 'Sign in to the console again.',
      })
    }
    const key = request.headers[PAGE_KEY_HEADER]
    if (typeof key !== 'string' || !sameText(key, ConsoleSessions.pageKey(session))) {
      throw new HttpProblem(
        401,
        RelayErrorCode.UNAUTHENTICATED,
        `The console session cookie came without its page key (${PAGE_KEY_HEADER})`,
        { hint: 'Sign in to the console again: the page keeps the key it gets when signing in.' },
      )
    }
    request.session = { _csrf: session.csrfSecret }
    return { agentId: session.agentId, admin: session.admin }
  }

  /**
   * The session a request was signed in with, named by its stored id (the cookie's hash), or `undefined`
   * for a request without a console session (a signed one). Read after {@link callerOf} accepted it.
   */
  sessionIdOf(request: FastifyRequest): string | undefined {
    if (request.session === null) return undefined
    const cookie = request.cookies?.[this.cookieName]
    return cookie === undefined || cookie === '' ? undefined : digest(cookie)
  }

  /**
   * The session's page key: handed to the page once, at sign-in, kept by it in the origin's storage and
   * sent with every request. Browsers send a host's cookies to every port of it (and let any port set
   * them), so the cookie alone must not be enough: another server on the host receives the cookie but
   * cannot read the console origin's storage, so it cannot use the session; a cookie it plants (session
   * fixation) does not match the page's key. Derived from the session's server-side CSRF secret, so every
   * replica can check it and the database holds nothing new.
   */
  static pageKey(session: ConsoleSessionRecord): string {
    return createHmac('sha256', session.csrfSecret).update('agent-comm console page key').digest('base64url')
  }

  /** Compares a presented secret with an agent's valid secrets in constant time per secret. */
  static secretMatches(presented: string, valid: readonly string[]): boolean {
    let matched = false
    for (const secret of valid) if (sameText(presented, secret)) matched = true
    return matched
  }
}
