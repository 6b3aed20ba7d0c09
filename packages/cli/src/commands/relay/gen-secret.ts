import { Flags } from '@oclif/core'
import { agentArg, BaseCommand } from '../../base-command.js'
import { openSecretStore, type RelaySecretAdmin } from '../../context.js'
import { missingRelaySecret } from '../../errors.js'
import { examples } from '../../examples.js'
import { MAX_ROTATION_GRACE_SECONDS, secondsFlag } from '../../flags.js'
import type { GenSecretResult } from '../../json-output.js'
import { relaySecretsFlags, relaySecretsTarget } from '../../relay-flags.js'

/** `agent-comm relay gen-secret`: creates (or rotates) an agent's relay secret and shows it once. */
export default class RelayGenSecret extends BaseCommand<typeof RelayGenSecret> {
  static override summary = "Create an agent's relay secret (HMAC key) and print it once."
  static override description =
    `Run it on the relay's machine. It creates a secret of 32 random bytes in the relay's secrets.json (mode 0600) and prints, on stdout, the line to run on the agent's machine:

  export AGENT_COMM_SECRET_<AGENT>=<secret>

(for an id of lower-case letters, digits and single hyphens: the id upper-cased with - as _, e.g. AGENT_COMM_SECRET_AGENT_B; for any other id, _ and the hex of the id, so that ids like Agent-B and agent.b never share agent-b's variable — gen-secret says so). The secret is never shown again: list-secrets shows only ids and dates. A running relay picks the new secret up at its next request.

An agent that has a secret keeps it unless --rotate (a new secret; the old one keeps working for --grace-seconds, a day by default, so clients can switch without downtime) or --replace (the old one stops working at once).`
  static override examples = examples`
    agent-b
    eval "$(<%= config.bin %> <%= command.id %> agent-b)"   # set it in this shell
    agent-b --rotate --grace-seconds 3600
    agent-b --replace --data-dir /var/lib/agent-comm-relay --json
  `
  static override args = { agent: agentArg('agent id the secret is for') }
  // The relay's own --db (its PostgreSQL database), not the coordinator's.
  static override baseFlags = {}
  static override flags = {
    ...relaySecretsFlags,
    rotate: Flags.boolean({
      description: 'give an agent that has a secret a new one; the old one keeps working for a grace period',
      exclusive: ['replace'],
    }),
    'grace-seconds': secondsFlag({
      description: `with --rotate: how long the previous secret keeps working, at most ${MAX_ROTATION_GRACE_SECONDS} (a year; default 86400)`,
      max: MAX_ROTATION_GRACE_SECONDS,
      dependsOn: ['rotate'],
    }),
    replace: Flags.boolean({
      description: 'replace an existing secret; the old one stops working at once',
      aliases: ['force'],
    }),
  }

  async run(): Promise<GenSecretResult> {
    const { flags } = this
    const { store, location, secretEnvName, close } = await openSecretStore(relaySecretsTarget(flags))
    const issued = await this.#issue(store, location).finally(close)
    const result: GenSecretResult = { ...issued, envVar: secretEnvName(issued.agentId) }
    if (!this.jsonEnabled()) {
      // Notes on stderr, the export line alone on stdout: `eval "$(agent-comm relay gen-secret x)"` works.
      process.stderr.write(
        `Relay secret for ${result.agentId} created ${result.createdAt} in ${location}.\n${
          result.previousValidUntil === undefined
            ? ''
            : `The previous secret keeps working until ${result.previousValidUntil}.\n`
        }It is shown only this once. On the machine of ${result.agentId}, set:\n`,
      )
      if (result.envVar.startsWith('AGENT_COMM_SECRET__')) {
        // Ids with capitals or punctuation would share the readable name with another id (Agent-B,
        // agent.b and agent-b all upper-case to AGENT_B), so theirs is hex-encoded: say so, since it is
        // not the name a person would guess.
        process.stderr.write(
          `Note: '${result.agentId}' has capitals or characters other than a-z, 0-9 and single hyphens, so its variable is hex-encoded (${result.envVar}) to keep it apart from other ids' variables; a lower-case hyphenated id (e.g. ${
            result.agentId
              .toLowerCase()
              .replace(/[^a-z0-9]+/g, '-')
              .replace(/^-|-$/g, '') || 'agent-b'
          }) gets a readable one.\n`,
        )
      }
      this.log(`export ${result.envVar}=${result.secret}`)
    }
    return result
  }

  /** Generates, replaces or rotates the secret, as the flags say. */
  #issue(store: RelaySecretAdmin, location: string): ReturnType<RelaySecretAdmin['generate']> {
    const { args, flags } = this
    return flags.rotate
      ? store
          .rotate(args.agent, { graceSeconds: flags['grace-seconds'] })
          .catch((error: unknown) => Promise.reject(missingRelaySecret(error, args.agent, location)))
      : store.generate(args.agent, flags.replace ? { replace: true } : {})
  }
}
