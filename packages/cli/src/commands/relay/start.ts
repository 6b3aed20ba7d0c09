import { redactUrl } from '@agent-comm/protocol/redact-url'
import { BaseCommand } from '../../base-command.js'
import { prepareRelay } from '../../context.js'
import { listenFailure } from '../../errors.js'
import { examples } from '../../examples.js'
import type { RelayStartResult } from '../../json-output.js'
import { relayArgv, relayServerFlags } from '../../relay-flags.js'

/** `agent-comm relay start`: runs the relay (@agent-comm/relay) until SIGINT or SIGTERM. */
export default class RelayStart extends BaseCommand<typeof RelayStart> {
  static override summary = 'Run the HTTP relay through which agents on other machines exchange messages.'
  static override description =
    `The same server as agent-comm-relay, with the same flags and AGENT_COMM_RELAY_* variables (a flag wins): a durable SQLite spool behind an HTTP API on which every request is signed with the acting agent's secret (HMAC-SHA256). Give each agent a secret with: agent-comm relay gen-secret <agent>.

On the other machines, register the agents that poll this relay with --transport-type http --relay-url <this relay's URL>; sends to them and their polls then go through the relay, signed with AGENT_COMM_SECRET_<AGENT>.

It listens on 127.0.0.1 unless told otherwise. To serve other machines use --host 0.0.0.0 behind a TLS-terminating proxy, or a private network (VPN, Tailscale).

Once listening it prints the URL to stderr (with --json, {"url", "dataDir"} as one line on stdout); its JSON log lines go to stderr. Ctrl-C or SIGTERM stops it gracefully (requests in flight finish, long polls end); a second signal exits at once.`
  static override examples = examples`
    --port 8420
    --data-dir /var/lib/agent-comm-relay --host 0.0.0.0 --log-level warn
    --port 0 --json   # {"url":"http://127.0.0.1:40117","dataDir":"…"}
  `
  // The relay has no coordinator database: no --db.
  static override baseFlags = {}
  static override flags = relayServerFlags

  // Its spans are the relay's, named as agent-comm-relay names them.
  protected override tracingServiceName(): string {
    return 'agent-comm-relay'
  }

  // Stop signals are caught from init on (BaseCommand): one during startup ends it cleanly, not with 143.
  protected override runsUntilStopped(): boolean {
    return true
  }

  async run(): Promise<undefined> {
    const json = this.jsonEnabled()
    const stop = this.stopSignal()
    const prepared = await prepareRelay(relayArgv(this.flags))
    const { config } = prepared
    if (stop.aborted) return undefined
    let relay: Awaited<ReturnType<typeof prepared.start>>
    try {
      relay = await prepared.start()
    } catch (error) {
      throw (
        listenFailure(error, {
          what: 'relay',
          host: config.host,
          port: config.port,
          retry: 'agent-comm relay start',
        }) ?? error
      )
    }
    if (json) this.logJsonLine({ url: relay.url, dataDir: config.dataDir } satisfies RelayStartResult)
    else {
      process.stderr.write(`Relay listening on ${relay.url} (${whereSecretsLive(config, this.flags)}\n`)
    }
    // A signal during startup has already aborted `stop`: the relay then closes at once. A second signal
    // exits at once (BaseCommand).
    if (!stop.aborted) {
      await new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }))
    }
    if (!json) process.stderr.write(`${String(stop.reason)}: stopping the relay (again to exit at once)...\n`)
    await relay.close()
    if (!json) process.stderr.write('Relay stopped.\n')
    return undefined
  }
}

/**
 * The rest of the start-up line: where the relay keeps its data, and the `gen-secret` command that issues
 * secrets it reads — on PostgreSQL that is the database (the URL shown without its password), not a folder.
 */
function whereSecretsLive(
  config: { dataDir: string; databaseUrl?: string | undefined },
  flags: { 'data-dir'?: string | undefined },
): string {
  if (config.databaseUrl !== undefined) {
    return `database: ${redactUrl(config.databaseUrl)}). Ctrl-C to stop.\nGive each agent a secret: agent-comm relay gen-secret <agent> --db <this database URL> (with the same AGENT_COMM_RELAY_SECRETS_KEY or --secrets-key-file)`
  }
  const dataDir = flags['data-dir'] === undefined ? '' : ` --data-dir ${config.dataDir}`
  return `data: ${config.dataDir}). Ctrl-C to stop.\nGive each agent a secret: agent-comm relay gen-secret <agent>${dataDir}`
}
