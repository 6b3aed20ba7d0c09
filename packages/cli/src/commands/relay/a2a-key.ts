import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { relayA2ASigningKeys } from '../../context.js'
import { examples } from '../../examples.js'
import type { A2AKeyResult } from '../../json-output.js'
import { relaySecretsTarget, relayStorageFlags } from '../../relay-flags.js'

/** `agent-comm relay a2a-key list|rotate`: the relay's A2A push-signing keys. */
export default class RelayA2AKey extends BaseCommand<typeof RelayA2AKey> {
  static override summary = "List or rotate the key pair that signs the relay's A2A push notifications."
  static override description =
    `Run it on the relay's machine, with the database and secrets key the relay uses (--db or AGENT_COMM_RELAY_DATABASE_URL for PostgreSQL, else --data-dir; AGENT_COMM_RELAY_SECRETS_KEY or --secrets-key-file). Pushes carry a JWT signed with the current key; receivers verify it against the relay's /.well-known/jwks.json. The relay replaces the key by itself every 30 days; rotate replaces it now (after a suspected leak, or to test receivers). The replaced key stays in the JWKS for 7 days, so pushes signed just before still verify; running replicas pick up the new key within a minute. Only key ids are printed, never a private key.`
  static override examples = examples('list', 'rotate --db postgres://relay@db/agents --json')
  static override args = {
    action: Args.string({ description: 'list or rotate', required: true, options: ['list', 'rotate'] }),
  }
  // The relay has no coordinator database: no --db of the coordinator.
  static override baseFlags = {}
  static override flags = {
    ...relayStorageFlags,
    'secrets-key-file': Flags.string({
      description:
        "file holding the relay's secrets key (32 bytes, base64) that seals the signing keys; or set AGENT_COMM_RELAY_SECRETS_KEY. On SQLite without either, <data-dir>/secrets.key [AGENT_COMM_RELAY_SECRETS_KEY_FILE]",
      helpValue: '<file>',
    }),
  }

  async run(): Promise<A2AKeyResult> {
    const { args, flags } = this
    const action = args.action as A2AKeyResult['action']
    const { keys, location, rotatedTo } = await relayA2ASigningKeys(relaySecretsTarget(flags), action)
    if (!this.jsonEnabled()) {
      if (rotatedTo !== undefined)
        process.stderr.write(
          `Rotated the A2A push-signing key in ${location}: ${rotatedTo} signs from now on (running replicas switch within a minute).\n`,
        )
      for (const key of keys) this.log(`${key.kid}${key.current ? '  (current)' : '  (grace period)'}`)
    }
    return { action, keys, rotatedTo }
  }
}
