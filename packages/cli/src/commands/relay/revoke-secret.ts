import { agentArg, BaseCommand } from '../../base-command.js'
import { openSecretStore } from '../../context.js'
import { missingRelaySecret } from '../../errors.js'
import { examples } from '../../examples.js'
import type { RevokeSecretResult } from '../../json-output.js'
import { relaySecretsFlags, relaySecretsTarget } from '../../relay-flags.js'

/** `agent-comm relay revoke-secret`: removes an agent's relay secrets, locking it out of the relay. */
export default class RelayRevokeSecret extends BaseCommand<typeof RelayRevokeSecret> {
  static override summary = "Revoke an agent's relay secret: its requests are refused from now on."
  static override description =
    `Removes every secret of the agent from the relay's secrets.json, also one still in a rotation's grace period. A running relay refuses the agent's next request (401). The agent stays registered; give it a new secret with gen-secret. Exit code 3 when the agent has no secret.`
  static override examples = examples('agent-b', 'agent-b --data-dir /var/lib/agent-comm-relay --json')
  static override args = { agent: agentArg('agent whose secret to revoke') }
  // The relay's own --db (its PostgreSQL database), not the coordinator's.
  static override baseFlags = {}
  static override flags = relaySecretsFlags

  async run(): Promise<RevokeSecretResult> {
    const { flags } = this
    const { store, location, close } = await openSecretStore(relaySecretsTarget(flags))
    const result = await store
      .revoke(this.args.agent)
      .catch((error: unknown) => Promise.reject(missingRelaySecret(error, this.args.agent, location)))
      .finally(close)
    this.log(
      `Revoked the relay secret${result.revoked === 1 ? '' : `s (${result.revoked})`} of ${result.agentId}: the relay refuses its requests from now on.`,
    )
    return result
  }
}
