import { AuthHeader, RelayErrorCode } from '@agent-comm/transport-http'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { type Authenticator, AuthFailure, type Caller, type SignedRequest } from '../auth.js'
import { HttpProblem } from '../http-errors.js'
import type { RelayLimits } from '../limits.js'
import type { RelayMetrics } from '../metrics.js'
import type { NonceStore } from '../nonces.js'
import type { AuthLevel } from '../route-table.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request, once the authentication plugin proved it (see {@link callerOf}). */
    caller: Caller | null
  }
  interface FastifyContextConfig {
    /** Who may call the route (the route table's `auth`); routes without it are not authenticated here. */
    auth?: AuthLevel
  }
}

/** The request decorator that holds who sent an authenticated request (null until then). */
const CALLER = 'caller'

/** Who sent `request`, once the authentication plugin proved it; undefined on unauthenticated routes. */
export function callerOf(request: FastifyRequest): Caller | undefined {
  // Read as a property, not with getDecorator: a plugin registered before this one (the console's page)
  // has requests without the decorator, and they have no caller either.
  return request.caller ?? undefined
}

/** What the authentication plugin checks with. */
export interface AuthenticationOptions {
  authenticator: Authenticator
  nonces: NonceStore
  limits: RelayLimits
  metrics: RelayMetrics
  /**
   * The caller of a request signed in with a console session cookie, or undefined (then HMAC applies). Not
   * asked for a request that names its agent in `X-Agent-ID`: that one is signed, and a session never
   * stands in for a signature (the console's sessions answer undefined for it).
   */
  sessionCaller(request: FastifyRequest): Promise<Caller | undefined>
}

/**
 * Proves who sent each request of a route with `config.auth` other than `none`, before its body is parsed:
 * a console session, or a signature checked by the {@link Authenticator}. Failures are counted per client
 * address; over the limit, only correctly signed requests of known agents pass. The caller is kept in the
 * request's `caller` decorator ({@link callerOf}).
 */
export const authenticationPlugin = fp<AuthenticationOptions>(
  async (app, { authenticator, nonces, limits, metrics, sessionCaller }) => {
    const { failures } = limits
    app.decorateRequest(CALLER, null)

    /** A signed request whose address is over its failure limit: checked cheaply, refused with 429. */
    const authenticateThrottled = async (signed: SignedRequest, retryAfterMs: number): Promise<Caller> => {
      // An address is not a person: behind a NAT, a proxy or on a shared host, a stranger's bad requests
      // must not lock out agents that sign correctly. So over the limit a request is still checked, but
      // cheaply: malformed headers, stale timestamps and unknown agents are refused before any HMAC, and
      // only a request naming a real agent costs a verification. Failures are neither logged nor counted
      // again (the address is already refused), so the flood costs no log lines.
      try {
        return await authenticator.authenticate(signed, { knownAgentsOnly: true })
      } catch (error) {
        if (!(error instanceof AuthFailure)) throw error
        metrics.authFailure('blocked')
        const seconds = Math.ceil(retryAfterMs / 1000)
        throw new HttpProblem(
          429,
          RelayErrorCode.RATE_LIMITED,
          `Too many failed authentications from this address: unsigned or wrongly signed requests are refused for ${seconds} s`,
          {
            hint: "Check the agent's secret (agent-comm relay gen-secret) and this machine's clock, then retry.",
            headers: { 'retry-after': String(seconds) },
          },
        )
      }
    }

    /** Counts, logs and rethrows a failed authentication of `request`. */
    const failed = (request: FastifyRequest, error: unknown): never => {
      if (error instanceof AuthFailure) {
        metrics.authFailure(error.reason)
        if (failures?.fail(request.ip) === true) {
          request.log.warn(
            { ip: request.ip, ...failures.limit },
            'too many failed authentications: address refused until its window ends',
          )
        }
        request.log.warn(
          {
            reason: error.reason,
            agentId: error.claimedAgent,
            route: request.routeOptions.url,
            ip: request.ip,
          },
          'authentication failed',
        )
      }
      throw error
    }

    app.addHook('preValidation', async (request) => {
      const level = request.routeOptions.config.auth
      if (level === undefined || level === 'none') return
      // An agent's signed request (nearly every request) skips the session lookup and its promises.
      const session =
        request.headers[AuthHeader.agentId] === undefined ? await sessionCaller(request) : undefined
      let caller: Caller
      if (session !== undefined) {
        // A console page signed in with its session cookie (CSRF checked on changes); no signature to check.
        caller = session
      } else {
        const signed: SignedRequest = {
          method: request.method,
          url: request.raw.url ?? request.url,
          headers: request.headers,
          body: Buffer.isBuffer(request.body) ? request.body : undefined,
        }
        const retryAfterMs = failures?.retryAfterMs(request.ip) ?? 0
        if (retryAfterMs > 0) caller = await authenticateThrottled(signed, retryAfterMs)
        else {
          // `check` answers at once or with a promise (the nonce's group commit): no promise of its own.
          try {
            const checked = authenticator.check(signed)
            caller = checked instanceof Promise ? await checked : checked
          } catch (error) {
            return failed(request, error)
          }
        }
        // Its nonce is written before the request has any effect: a crash now cannot let it be replayed.
        // (A store without `whenDurable` — SQLite's — answered `remember` only once it was written.)
        if (nonces.whenDurable !== undefined) await nonces.whenDurable()
      }
      request.setDecorator(CALLER, caller)
    })
  },
  { name: 'agent-comm-authentication' },
)
