/** Prefix of the environment variables that hold agents' relay secrets. */
export const SECRET_ENV_PREFIX = 'AGENT_COMM_SECRET_'

/**
 * The environment variable holding `agentId`'s relay secret: `AGENT_COMM_SECRET_` and the agent id
 * upper-cased with every character outside A–Z and 0–9 replaced by `_` (`agent-b` →
 * `AGENT_COMM_SECRET_AGENT_B`). Ids that differ only in case or punctuation share a variable.
 */
export function secretEnvName(agentId: string): string {
  return `${SECRET_ENV_PREFIX}${agentId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`
}

/**
 * `agentId`'s relay secret from `env` (composition roots pass `process.env`), or `undefined` when its
 * variable (see {@link secretEnvName}) is unset or blank. Surrounding whitespace is dropped.
 */
export function secretFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  agentId: string,
): string | undefined {
  const value = env[secretEnvName(agentId)]?.trim()
  return value === undefined || value === '' ? undefined : value
}
