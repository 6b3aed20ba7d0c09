import type { Clock } from '@agent-comm/protocol'
import { AgentIdSchema, ConfigError, parseOrThrow } from '@agent-comm/protocol'
import { secretEnvName } from './env.js'
import { AUDIENCE_PATTERN, signRequest } from './hmac.js'

/** Most agent ids a signer remembers as well-formed; past it the set starts afresh. */
const MAX_VALID_IDS = 10_000

/** What a {@link RequestSigner} signs with (see `RelayClientOptions`). */
export interface RequestSignerOptions {
  secretFor: (agentId: string) => string | undefined
  clock: Clock
  audience?: string | undefined
}

/**
 * Signs requests as an agent with its relay secret: the headers of one attempt, made afresh for each (a
 * retry is a new request with its own nonce and timestamp).
 */
export class RequestSigner {
  readonly #secretFor: (agentId: string) => string | undefined
  readonly #clock: Clock
  readonly #audience: string | undefined
  /**
   * Agent ids already found well-formed: an agent signs every request with the same id, and checking it
   * with its zod schema each time cost a parse per request. Bounded like the HMAC key cache.
   */
  readonly #validIds = new Set<string>()

  constructor(options: RequestSignerOptions) {
    if (options.audience !== undefined && !AUDIENCE_PATTERN.test(options.audience)) {
      throw new ConfigError(`Invalid relay audience '${options.audience}'`, {
        hint: "Give the relay's --audience: 1-256 printable characters without spaces.",
      })
    }
    this.#secretFor = options.secretFor
    this.#clock = options.clock
    this.#audience = options.audience
  }

  /** The signature headers of `method path` with `body`, as `agent`; `CONFIG` when it has no secret. */
  sign(agent: string, method: string, path: string, body: string): Record<string, string> {
    // A malformed id is the caller's input error, not a missing secret: say so before looking one up.
    if (!this.#validIds.has(agent)) {
      parseOrThrow(AgentIdSchema, agent, 'agent id')
      if (this.#validIds.size >= MAX_VALID_IDS) this.#validIds.clear()
      this.#validIds.add(agent)
    }
    const secret = this.#secretFor(agent)
    if (secret === undefined || secret === '') {
      throw new ConfigError(`No relay secret for agent '${agent}'`, {
        hint: `Set ${secretEnvName(agent)} to the secret printed by 'agent-comm relay gen-secret ${agent}' on the relay.`,
        details: { agentId: agent, variable: secretEnvName(agent) },
      })
    }
    return signRequest(secret, {
      method,
      path,
      body,
      agentId: agent,
      timestamp: this.#clock.now(),
      audience: this.#audience,
    })
  }
}
