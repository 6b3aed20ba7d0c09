import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { rotateRelaySecretsKey } from '../../context.js'
import { examples } from '../../examples.js'
import type { RotateSecretsKeyResult } from '../../json-output.js'
import { relayDbFlag, relayDbSchemaFlag, secretsKeyFileFlag } from '../../relay-flags.js'

/** `agent-comm relay rotate-secrets-key`: re-encrypts every agent secret in PostgreSQL under a new key. */
export default class RelayRotateSecretsKey extends BaseCommand<typeof RelayRotateSecretsKey> {
  static override summary = "Re-encrypt the relay's agent secrets in PostgreSQL under a new key."
  static override description =
    `For a relay on PostgreSQL (--db or AGENT_COMM_RELAY_DATABASE_URL). Reads the current key as the replicas do (AGENT_COMM_RELAY_SECRETS_KEY or --secrets-key-file), and the new one from --new-key-file; without it, generates 32 random bytes and prints them once, as the line to give every replica:

  export AGENT_COMM_RELAY_SECRETS_KEY=<new key>

Every secret (and the A2A push-signing keys) is re-encrypted and the key check replaced in one transaction: agents' secrets do not change, and nothing is half done. Replicas still holding the old key keep serving (they cached what they read) but refuse to start again: restart each with the new key, one after the other.`
  static override examples = examples`
    AGENT_COMM_RELAY_SECRETS_KEY=$(cat old.key) <%= config.bin %> <%= command.id %> --db postgres://relay@db/agents --new-key-file new.key
    --db postgres://relay@db/agents --secrets-key-file old.key   # prints a new key
  `
  static override baseFlags = {}
  static override flags = {
    db: relayDbFlag,
    'db-schema': relayDbSchemaFlag,
    'secrets-key-file': secretsKeyFileFlag,
    'new-key-file': Flags.string({
      description:
        'file holding the new key (32 bytes, base64); without it a new key is generated and printed',
      helpValue: '<file>',
    }),
  }

  async run(): Promise<RotateSecretsKeyResult> {
    const { flags } = this
    const { location, ...result } = await rotateRelaySecretsKey({
      db: flags.db,
      dbSchema: flags['db-schema'],
      secretsKeyFile: flags['secrets-key-file'],
      newKeyFile: flags['new-key-file'],
    })
    const rotated = result
    if (!this.jsonEnabled()) {
      process.stderr.write(
        `Re-encrypted ${rotated.reencrypted} relay secret${rotated.reencrypted === 1 ? '' : 's'} in ${location} under the new key (id ${rotated.keyId}). Restart every replica with it.\n`,
      )
      if (result.newKey !== undefined) {
        process.stderr.write('The new key is shown only this once. Give every replica:\n')
        this.log(`export AGENT_COMM_RELAY_SECRETS_KEY=${result.newKey}`)
      }
    }
    return result
  }
}
