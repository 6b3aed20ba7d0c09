/** A relay secret just generated: the only time the secret itself is handed out. */
export interface IssuedRelaySecret {
  agentId: string
  secret: string
  /** ISO time it was created. */
  createdAt: string
  /** The environment variable the agent's clients read the secret from, e.g. `AGENT_COMM_SECRET_BUILDER`. */
  envVar?: string
}

/** What the relay knows about an agent's secret: never the secret. */
export interface RelaySecretInfo {
  agentId: string
  /** ISO time the newest secret was created. */
  createdAt: string
  /** How many secrets work now (2 during a rotation's grace period). */
  activeSecrets?: number
  /** During a rotation: ISO time the previous secret stops working. */
  previousValidUntil?: string
}

/**
 * The relay secret store the relay tools manage. Structural, so the relay's `SecretStore`
 * (`@agent-comm/secrets`, file or PostgreSQL) fits as it is; the bin wraps it to add `envVar`.
 */
export interface RelaySecrets {
  /** Generates a secret for `agentId`; refuses an agent that has one unless `replace` is set. */
  generate(agentId: string, options?: { replace?: boolean }): Promise<IssuedRelaySecret>
  /** Agents with a working secret, by id. */
  list(): Promise<RelaySecretInfo[]>
}
