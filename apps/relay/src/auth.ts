import type { Clock } from '@agent-comm/protocol'
import type { SecretLookup } from '@agent-comm/secrets'
import {
  bodyDigest,
  canonicalRequest,
  RelayErrorCode,
  readAuthHeaders,
  verifySignature,
} from '@agent-comm/transport-http'
import { HttpProblem } from './http-errors.js'
import type { NonceStore } from './nonces.js'

/** Who sent an authenticated request. */
export interface Caller {
  agentId: string
  /** True for the relay's admin id: operator endpoints, any agent's registration, every message's status. */
  admin: boolean
}

/** Where the relay looks up agents' secrets: any relay secret store of `@agent-comm/secrets` (file, PostgreSQL). */
export type SecretSource = SecretLookup

/** Why a request failed authentication, as counted in metrics and logged (never sent to the client). */
export type AuthFailureReason =
  | 'malformed_headers'
  | 'stale_timestamp'
  | 'unknown_agent'
  | 'bad_signature'
  | 'replay'

/** An authentication refusal: the problem to answer with and the reason to log. */
export class AuthFailure extends HttpProblem {
  readonly reason: AuthFailureReason
  readonly claimedAgent: string | undefined

  constructor(reason: AuthFailureReason, problem: HttpProblem, claimedAgent: string | undefined) {
    super(problem.status, problem.code, problem.message, { hint: problem.hint, details: problem.details })
    this.reason = reason
    this.claimedAgent = claimedAgent
  }
}

/** What {@link Authenticator} checks against. */
export interface AuthenticatorOptions {
  secrets: SecretSource
  nonces: NonceStore
  clock: Clock
  /** Largest accepted distance between a request's timestamp and the relay's clock, in ms. */
  windowMs: number
  /** The admin's agent id. */
  adminId: string
  /** Admin secrets given to the relay directly (e.g. from its environment) besides those in the store. */
  adminSecrets: readonly string[]
  /** The relay's audience: version 2 signatures are checked against it (none: version 2 is refused). */
  audience?: string
  /** Refuse version 1 signatures, which are not bound to a relay (needs `audience`). */
  requireAudience?: boolean
}

/** The part of a request a signature covers. */
export interface SignedRequest {
  method: string
  /** The request target as received: path and query. */
  url: string
  headers: Record<string, string | string[] | undefined>
  body: Uint8Array | undefined
}

// Verifying against a throwaway secret when the agent has none keeps unknown agents from answering faster.
const DECOY_SECRETS = ['agent-comm-decoy-secret-never-valid']

const SIGNING_HINT =
  "Sign every request with the agent's secret: headers X-Agent-ID, X-Timestamp, X-Nonce and X-Signature (see the relay README). RelayClient and HttpTransport do it for you."

/** The one answer for an unknown agent, a revoked secret and a wrong signature alike. */
function unauthenticated(agentId: string): HttpProblem {
  return new HttpProblem(
    401,
    RelayErrorCode.UNAUTHENTICATED,
    `Signature check failed for agent '${agentId}': the relay has no secret for it, the secret was revoked, or the request was signed with another secret or changed on the way`,
    {
      hint: `Check the agent's secret (on the relay: agent-comm relay list-secrets; a new one: agent-comm relay gen-secret ${agentId}).`,
    },
  )
}

/** The refusal of a request whose nonce was used before. */
function replayed(agentId: string): AuthFailure {
  return new AuthFailure(
    'replay',
    new HttpProblem(
      409,
      RelayErrorCode.AUTH_REPLAY,
      'This request was already received: its nonce was used before',
      {
        hint: 'Replayed requests are refused. Sign each request, and each retry, with a fresh nonce.',
      },
    ),
    agentId,
  )
}

/**
 * Checks a request's HMAC signature, time window and nonce, in that order of cost: header shapes, the
 * timestamp against the relay's clock, the signature against every secret of the claimed agent (constant
 * time), and last the nonce — recorded only for a request that proved who sent it, so strangers cannot
 * fill the nonce table. Unknown agents, revoked secrets and wrong signatures all answer the same
 * `UNAUTHENTICATED`, so the relay is no oracle for which agents exist; the log and metrics tell them apart.
 */
export class Authenticator {
  readonly #options: AuthenticatorOptions

  constructor(options: AuthenticatorOptions) {
    this.#options = options
  }

  /**
   * The caller of an authentic, fresh, first-seen request; throws an {@link AuthFailure} otherwise. With
   * `knownAgentsOnly` (for a client address over its failed-authentication limit) a request naming an agent
   * without a secret is refused before any HMAC is computed, so garbage from that address costs no more
   * than reading its headers, while a request that names a real agent is still verified and may pass.
   */
  async authenticate(request: SignedRequest, options: { knownAgentsOnly?: boolean } = {}): Promise<Caller> {
    return this.check(request, options)
  }

  /**
   * {@link authenticate} without a promise of its own: the caller at once when the secret store and the
   * nonce store answer at once; a promise when either answers with one (the SQLite nonce store answers once
   * its group commit wrote the nonce). A refusal decided before any promise is thrown, a later one rejects.
   * The relay's authentication hook uses it, so a request costs no more promises than the nonce's own.
   */
  check(request: SignedRequest, options: { knownAgentsOnly?: boolean } = {}): Caller | Promise<Caller> {
    const { secrets, clock, windowMs, audience, requireAudience } = this.#options
    const read = readAuthHeaders(request.headers)
    if (!read.ok) {
      throw new AuthFailure(
        'malformed_headers',
        new HttpProblem(
          401,
          RelayErrorCode.UNAUTHENTICATED,
          `Missing or invalid ${read.problem.header} header: ${read.problem.problem}`,
          { hint: SIGNING_HINT },
        ),
        undefined,
      )
    }
    const { agentId, timestamp, nonce, signature, version } = read.value
    if (version === 2 ? audience === undefined : requireAudience === true) {
      throw new AuthFailure(
        'malformed_headers',
        new HttpProblem(
          401,
          RelayErrorCode.UNAUTHENTICATED,
          version === 2
            ? 'This relay has no audience configured, so it cannot check a version 2 signature (v2= in X-Signature)'
            : `This relay accepts only version 2 signatures, bound to its audience '${audience}'`,
          {
            hint:
              version === 2
                ? 'Sign without an audience (version 1), or give the relay one: agent-comm-relay --audience <name>.'
                : `Set the client's relay audience to '${audience}' (RelayClient / HttpTransport option audience).`,
          },
        ),
        agentId,
      )
    }
    const skewMs = timestamp - clock.now()
    if (Math.abs(skewMs) > windowMs) {
      throw new AuthFailure(
        'stale_timestamp',
        new HttpProblem(
          401,
          RelayErrorCode.AUTH_TIMESTAMP,
          `The request's timestamp is ${Math.round(Math.abs(skewMs) / 1000)} s ${skewMs < 0 ? 'behind' : 'ahead of'} the relay's clock; at most ${Math.round(windowMs / 1000)} s is accepted`,
          {
            hint: 'Synchronise the clocks of this machine and the relay (NTP), and sign each request when it is sent.',
          },
        ),
        agentId,
      )
    }
    const found = secrets.secretsFor(agentId)
    const signed = { request, agentId, timestamp, nonce, signature, version }
    // The file store answers at once; a database's store with a promise.
    return Array.isArray(found)
      ? this.#verify(signed, found as readonly string[], options)
      : (found as Promise<readonly string[]>).then((known) => this.#verify(signed, known, options))
  }

  /** The signature against `known` (the agent's secrets), then the nonce: the rest of {@link check}. */
  #verify(
    signed: {
      request: SignedRequest
      agentId: string
      timestamp: number
      nonce: string
      signature: string
      version: number
    },
    known: readonly string[],
    options: { knownAgentsOnly?: boolean },
  ): Caller | Promise<Caller> {
    const { nonces, adminId, adminSecrets, audience } = this.#options
    const { request, agentId, timestamp, nonce, signature, version } = signed
    const valid = agentId === adminId && adminSecrets.length > 0 ? [...known, ...adminSecrets] : known
    if (valid.length === 0 && options.knownAgentsOnly === true) {
      throw new AuthFailure('unknown_agent', unauthenticated(agentId), agentId)
    }
    const canonical = canonicalRequest({
      method: request.method,
      path: request.url,
      bodySha256: bodyDigest(request.body),
      timestamp,
      nonce,
      agentId,
      audience: version === 2 ? audience : undefined,
    })
    const matched = verifySignature(valid.length > 0 ? valid : DECOY_SECRETS, canonical, signature)
    if (!matched || valid.length === 0) {
      throw new AuthFailure(
        valid.length === 0 ? 'unknown_agent' : 'bad_signature',
        unauthenticated(agentId),
        agentId,
      )
    }
    const caller: Caller = { agentId, admin: agentId === adminId }
    const fresh = nonces.remember(agentId, nonce, timestamp)
    if (typeof fresh === 'boolean') {
      if (!fresh) throw replayed(agentId)
      return caller
    }
    return fresh.then((isNew) => {
      if (!isNew) throw replayed(agentId)
      return caller
    })
  }
}
