/** A secret just generated; the only time the secret itself is handed out. */
export interface IssuedSecret {
  agentId: string
  secret: string
  /** ISO time it was created. */
  createdAt: string
  /** After a rotation: ISO time until which the previous secret keeps working. */
  previousValidUntil?: string
}

/** What a store's `list` says about an agent's secrets: never the secrets themselves. */
export interface SecretInfo {
  agentId: string
  /** ISO time the newest secret was created. */
  createdAt: string
  /** How many secrets work now (2 during a rotation's grace period). */
  activeSecrets: number
  /** During a rotation: ISO time the previous secret stops working. */
  previousValidUntil?: string
}

/** What `revoke` removed. */
export interface RevokedSecrets {
  agentId: string
  /** How many working secrets the agent had. */
  revoked: number
}

/** Where the relay looks up agents' secrets to check a request's signature. */
export interface SecretLookup {
  /**
   * The secrets that authenticate `agentId` now; empty for an unknown or revoked agent. The file store
   * answers at once, a store on a database server (shared by replicas) with a promise.
   */
  secretsFor(agentId: string): readonly string[] | Promise<readonly string[]>
}

/**
 * A relay secret store: the operations and rotation rules every implementation keeps (the file store here,
 * `PostgresSecretStore` in `@agent-comm/postgres`), so the relay, the CLI and the MCP server take either.
 */
export interface RelaySecretStore extends SecretLookup {
  /** Generates a secret for `agentId`; one that has a secret is refused (`INVALID_STATE`) unless `replace`. */
  generate(agentId: string, options?: { replace?: boolean }): Promise<IssuedSecret>
  /** A new secret for `agentId`; the ones it had keep working for `graceSeconds` (a day), then stop. */
  rotate(agentId: string, options?: { graceSeconds?: number }): Promise<IssuedSecret>
  /** Removes every secret of `agentId`; `AGENT_NOT_FOUND` if it had none. */
  revoke(agentId: string): Promise<RevokedSecrets>
  /** The agents with a working secret, by id, with dates; never the secrets. */
  list(): Promise<SecretInfo[]>
  /** True when `agentId` has a working secret. */
  has(agentId: string): boolean | Promise<boolean>
}
