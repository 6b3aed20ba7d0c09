import { ConfigError } from '@agent-comm/protocol'

/** Prefix of the environment variables that hold agents' relay secrets. */
export const SECRET_ENV_PREFIX = 'AGENT_COMM_SECRET_'

/**
 * Ids whose variable is simply the id upper-cased with `-` as `_`: lower-case letters and digits in words
 * joined by single hyphens (`agent-b`, `builder`, `code-reviewer-2`). On these ids that mapping is one to
 * one, and the names it makes never start with `_`.
 */
const PLAIN_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/

/**
 * Whether `agentId`'s secret variable is the readable one (see {@link secretEnvName}); false for ids with
 * capitals, `.`, `_`, `:`, `@` or doubled hyphens, whose variable is hex-encoded.
 */
export function hasPlainSecretEnvName(agentId: string): boolean {
  return PLAIN_ID.test(agentId)
}

/**
 * The environment variable holding `agentId`'s relay secret, distinct for every id. For lower-case ids of
 * letters, digits and single hyphens it is `AGENT_COMM_SECRET_` and the id upper-cased with `-` as `_`
 * (`agent-b` → `AGENT_COMM_SECRET_AGENT_B`), as it always was. Any other id would share that name with
 * another (`Agent-B`, `agent.b` and `agent_b` all upper-case to `AGENT_B`, so one agent would sign with
 * another's secret), so its name is `AGENT_COMM_SECRET__` and the hex of its UTF-8 bytes, upper-cased
 * (`Agent-B` → `AGENT_COMM_SECRET__4167656E742D42`): the leading `_` keeps it apart from every readable name.
 */
export function secretEnvName(agentId: string): string {
  if (hasPlainSecretEnvName(agentId))
    return `${SECRET_ENV_PREFIX}${agentId.toUpperCase().replaceAll('-', '_')}`
  return `${SECRET_ENV_PREFIX}_${Buffer.from(agentId, 'utf8').toString('hex').toUpperCase()}`
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

/**
 * The error of a call that must sign as `agentId` and has no secret for it: names the variable to set and
 * where its value comes from. The signer throws it; so does a command that checks before it starts.
 */
export function noRelaySecret(agentId: string): ConfigError {
  const variable = secretEnvName(agentId)
  return new ConfigError(`No relay secret for agent '${agentId}'`, {
    hint: `Set ${variable} to the secret printed by 'agent-comm relay gen-secret ${agentId}' on the relay.`,
    details: { agentId, variable },
  })
}
