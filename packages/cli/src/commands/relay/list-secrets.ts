import { BaseCommand } from '../../base-command.js'
import { openSecretStore } from '../../context.js'
import { examples } from '../../examples.js'
import type { ListSecretsResult } from '../../json-output.js'
import { relaySecretsFlags, relaySecretsTarget } from '../../relay-flags.js'

/** `agent-comm relay list-secrets`: the agents that have a relay secret, and when it was made. */
export default class RelayListSecrets extends BaseCommand<typeof RelayListSecrets> {
  static override summary = 'List the agents that have a relay secret (never the secrets).'
  static override description =
    `Reads the relay's secrets.json and prints each agent id with the creation time of its newest secret, the variable its machine reads it from and, during a rotation, until when the previous secret works. Secrets themselves are never printed: gen-secret shows a secret once, when it is made.`
  static override examples = examples('', '--data-dir /var/lib/agent-comm-relay --json')
  // The relay's own --db (its PostgreSQL database), not the coordinator's.
  static override baseFlags = {}
  static override flags = relaySecretsFlags

  async run(): Promise<ListSecretsResult> {
    const { flags } = this
    const { store, location, secretEnvName, close } = await openSecretStore(relaySecretsTarget(flags))
    const secrets = (await store.list().finally(close)).map((info) => ({
      ...info,
      envVar: secretEnvName(info.agentId),
    }))
    if (secrets.length === 0) {
      this.log(`No relay secrets in ${location}. Create one: agent-comm relay gen-secret <agent>`)
    } else {
      const width = Math.max(...secrets.map((s) => s.agentId.length))
      this.log(`Relay secrets in ${location} (${secrets.length}):`)
      for (const s of secrets) {
        const rotation =
          s.previousValidUntil === undefined
            ? ''
            : `  (rotated: ${s.activeSecrets} valid, the previous until ${s.previousValidUntil})`
        this.log(`  ${s.agentId.padEnd(width)}  created ${s.createdAt}  ${s.envVar}${rotation}`)
      }
    }
    return { count: secrets.length, secrets }
  }
}
