import type { Clock } from '@agent-comm/protocol'
import { AgentIdSchema, ConfigError, isAgentId, parseOrThrow } from '@agent-comm/protocol'
import { noRelaySecret } from './env.js'
import { AUDIENCE_PATTERN, signRequest } from './hmac.js'

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
    // Checked without a parse on every request; the schema is parsed only for an id that fails, for its error.
    if (!isAgentId(agent)) parseOrThrow(AgentIdSchema, agent, 'agent id')
    const secret = this.#secretFor(agent)
    if (secret === undefined || secret === '') throw noRelaySecret(agent)
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
