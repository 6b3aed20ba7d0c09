import { urlPassword } from '@agent-comm/protocol/redact-url'

/**
 * The variables through which agent-comm itself is handed credentials: agents' relay secrets, A2A bearer
 * tokens, the webhook bridge's Authorization header, the MCP server's HTTP token, the relay's admin secret
 * and secrets key. A bridged command reads hostile message text (often with a model behind it, which a
 * message can talk into printing its environment), and answers through the bridge, which signs and sends
 * for it: it needs none of them.
 */
const CREDENTIAL_VARIABLE =
  /^AGENT_COMM_(SECRET_.*|A2A_TOKEN(_.*)?|BRIDGE_WEBHOOK_AUTHORIZATION|MCP_TOKEN|RELAY_ADMIN_SECRET|RELAY_SECRETS_KEY)$/

/** Database URLs agent-comm is given: withheld too when they carry a password. */
const DATABASE_URL_VARIABLE = /^AGENT_COMM_(DB_PATH|RELAY_DATABASE_URL)$/

/**
 * `env` without agent-comm's credentials (see {@link CREDENTIAL_VARIABLE}) and without a database URL that
 * carries a password; every other variable (PATH, HOME, the command's own API keys) passes. Names in `keep`
 * pass whatever they hold: the operator's explicit word that the command needs them.
 */
export function commandEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  keep: readonly string[] = [],
): Record<string, string | undefined> {
  const kept = new Set(keep)
  const result: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(env)) {
    if (!kept.has(name) && withheld(name, value)) continue
    result[name] = value
  }
  return result
}

function withheld(name: string, value: string | undefined): boolean {
  if (CREDENTIAL_VARIABLE.test(name)) return true
  return DATABASE_URL_VARIABLE.test(name) && value !== undefined && urlPassword(value) !== undefined
}
