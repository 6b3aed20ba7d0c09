import { join } from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { relayDataDir } from '../../context.js'
import { examples } from '../../examples.js'
import type { A2ATokenResult } from '../../json-output.js'
import { relayStorageFlags } from '../../relay-flags.js'

/** `agent-comm relay a2a-token create|list|revoke`: bearer tokens of external A2A callers. */
export default class RelayA2AToken extends BaseCommand<typeof RelayA2AToken> {
  static override summary = 'Create, list or revoke the bearer token of an external A2A caller.'
  static override description =
    `Run it on the relay's machine. External agents (A2A clients of other vendors) call the relay's A2A endpoint with "Authorization: Bearer <token>". create prints a new token once (only its SHA-256 is stored, in the relay's relay.db, or its PostgreSQL database with --db); the caller then appears in agent-comm as a2a:<NAME>, may reach the agents given with --agents (default: every agent with A2A skills) and sees only its own tasks. revoke stops the token at the caller's next request.`
  static override examples = examples('create acme --agents helper,reviewer', 'list --json', 'revoke acme')
  static override args = {
    action: Args.string({
      description: 'create, list or revoke',
      required: true,
      options: ['create', 'list', 'revoke'],
    }),
    name: Args.string({ description: 'caller name (letters, digits and . _ @ -); not for list' }),
  }
  // The relay has no coordinator database: no --db.
  static override baseFlags = {}
  static override flags = {
    ...relayStorageFlags,
    agents: Flags.string({
      description: 'with create: comma-separated agents the caller may call (default: all)',
    }),
  }

  /** The tokens of the relay on PostgreSQL (--db or AGENT_COMM_RELAY_DATABASE_URL), else in its data folder. */
  async #openTokens() {
    const runtime = await this.runtime()
    const { A2ATokens, openRelayTokens } = await runtime.loadA2A()
    const fromEnv = process.env.AGENT_COMM_RELAY_DATABASE_URL?.trim()
    const db = this.flags.db ?? (fromEnv === '' ? undefined : fromEnv)
    if (db === undefined) return openRelayTokens(join(relayDataDir(this.flags['data-dir']), 'relay.db'))
    const schemaEnv = process.env.AGENT_COMM_RELAY_PG_SCHEMA?.trim()
    const schema = this.flags['db-schema'] ?? (schemaEnv === '' ? undefined : schemaEnv)
    const { PostgresA2AStore } = await runtime.loadPostgresA2A()
    const store = await PostgresA2AStore.connect({
      url: db,
      poolSize: 2,
      schema,
    })
    return { tokens: new A2ATokens(store), close: () => store.close() }
  }

  async run(): Promise<A2ATokenResult> {
    const { args, flags } = this
    const action = args.action as A2ATokenResult['action']
    if (action !== 'list' && args.name === undefined)
      this.error(`relay a2a-token ${action} needs a caller NAME`, { exit: 2 })
    const { tokens, close } = await this.#openTokens()
    try {
      if (action === 'create') {
        const agents = flags.agents
          ?.split(',')
          .map((a) => a.trim())
          .filter((a) => a !== '')
        const issued = await tokens.create(args.name as string, { agents })
        if (!this.jsonEnabled()) {
          process.stderr.write(
            `A2A token for caller a2a:${issued.name} (agents: ${issued.agents?.join(', ') ?? 'all with A2A skills'}). It is shown only this once; the caller sends it as "Authorization: Bearer <token>":\n`,
          )
          this.log(issued.token)
        }
        return { action, issued }
      }
      if (action === 'revoke') {
        const revoked = await tokens.revoke(args.name as string)
        this.log(revoked ? `Revoked the A2A token of ${args.name}.` : `${args.name} has no live A2A token.`)
        return { action, revoked }
      }
      const list = await tokens.list()
      if (list.length === 0) this.log('No A2A tokens. Create one: agent-comm relay a2a-token create <name>')
      for (const t of list) {
        this.log(
          `  ${t.name}  agents: ${t.agents?.join(',') ?? 'all'}  created ${t.createdAt}${t.revokedAt === undefined ? '' : `  revoked ${t.revokedAt}`}`,
        )
      }
      return { action, tokens: list }
    } finally {
      await close()
    }
  }
}
