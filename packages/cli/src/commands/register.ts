import { resolve } from 'node:path'
import type { AgentProfile } from '@agent-comm/protocol'
import { errorMessage } from '@agent-comm/protocol/errors'
import { TRANSPORT_KINDS } from '@agent-comm/protocol/vocabulary'
import { Flags } from '@oclif/core'
import { agentArg, BaseCommand } from '../base-command.js'
import type { Runtime } from '../context.js'
import { CommandFailure, exitCodeFor } from '../errors.js'
import { examples } from '../examples.js'
import { METADATA_EXPECTED, parseFlagValue } from '../flag-errors.js'
import { jsonFlag } from '../flags.js'
import { agentLine } from '../format.js'
import type { RegisterResult, RelayRegistration } from '../json-output.js'

/** `agent-comm register`: adds an agent to the registry or updates its profile. */
export default class Register extends BaseCommand<typeof Register> {
  static override summary = 'Register an agent, or update the profile of one already registered.'
  static override description =
    `Capabilities say what the agent can do; other agents find it by them (agents --capability, send capability:<name>). Registering again replaces the profile and keeps the registration time. An agent must be registered before messages can be sent to it.

Transports: sqlite (default) shares this database; http reaches an agent through a relay (--relay-url); file drops messages as JSON files in a folder (--inbox-dir).

A relay publishes A2A cards (--a2a-skill) and answers other agents' discovery from its own registry, not from this database: --at-relay also registers an http agent's profile there, signed as the agent (AGENT_COMM_SECRET_<AGENT> must be set here), replacing the profile the relay had.`
  static override examples = examples`
    agent-a -c "send,receive" -d local
    reviewer -c code,review -d workstation --metadata '{"model":"gpt-5"}'
    remote -c approve -d laptop --transport-type http --relay-url https://relay.example.com
    helper -c answer -d laptop --transport-type http --relay-url https://relay.example.com --a2a-skill "answer|Answer questions" --at-relay
    watcher -c notify -d nas --transport-type file --inbox-dir ./inboxes/watcher
  `
  static override args = { name: agentArg('agent id: letters, digits and . _ : @ -') }
  static override flags = {
    capabilities: Flags.string({
      char: 'c',
      description: 'comma-separated capabilities, e.g. "code,review"',
      required: true,
    }),
    device: Flags.string({
      char: 'd',
      description: 'device or location of the agent, e.g. workstation',
      required: true,
    }),
    'transport-type': Flags.string({
      description:
        'how the agent is reached (default: sqlite, or file with its folder under the project when AGENT_COMM_TRANSPORT=file)',
      options: [...TRANSPORT_KINDS],
    }),
    'relay-url': Flags.string({
      description:
        'relay base URL, for --transport-type http only (and required there); repeat it, or comma-separate, for replicas without one address in front',
      helpValue: '<url>',
      multiple: true,
    }),
    'inbox-dir': Flags.string({
      description:
        'folder the agent reads its messages from, for --transport-type file only (and required there)',
      helpValue: '<dir>',
    }),
    'a2a-skill': Flags.string({
      description:
        'offer the agent to A2A callers through the relay with this skill: id, id|Name or id|Name|tag1,tag2 (repeatable); stored in metadata.a2a',
      multiple: true,
      helpValue: '<id|Name|tags>',
    }),
    'a2a-url': Flags.string({
      description:
        "an external A2A agent: its Agent Card URL (e.g. https://host/.well-known/agent-card.json); an A2A bridge forwards this agent's messages",
      helpValue: '<url>',
    }),
    'at-relay': Flags.boolean({
      description:
        "also register the profile at the agent's relay (--transport-type http), signed with AGENT_COMM_SECRET_<AGENT>: what the relay publishes (A2A cards) and lists comes from its own registry",
    }),
    metadata: jsonFlag({
      description: 'free-form JSON object stored with the profile',
      helpValue: '<json object>',
    }),
  }

  protected static override fieldFlags = {
    capabilities: '--capabilities',
    device: '--device',
    transport: '--transport-type',
    relayUrl: '--relay-url',
    inboxDir: '--inbox-dir',
    metadata: '--metadata',
  }

  /** Registering is how a project's database comes to be: it is created when missing. */
  protected override readonly createsDatabase = true

  async run(): Promise<RegisterResult> {
    const { flags, args } = this
    const runtime = await this.runtime()
    const { JsonObjectSchema, ValidationError } = runtime
    let metadata =
      flags.metadata === undefined
        ? undefined
        : parseFlagValue(runtime, JsonObjectSchema, flags.metadata, '--metadata', METADATA_EXPECTED)
    const a2a = a2aMetadata(flags['a2a-skill'], flags['a2a-url'], ValidationError)
    if (a2a !== undefined) metadata = { ...(metadata ?? {}), a2a }
    const atRelay = await this.#relayRegistration(
      runtime,
      flags['transport-type'],
      flags['relay-url'],
      args.name,
    )
    const coordinator = await this.coordinator()
    const agent = await coordinator.register({
      agentId: args.name,
      capabilities: flags.capabilities
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
      device: flags.device,
      transport: flags['transport-type'] as AgentProfile['transport'] | undefined,
      relayUrl: flags['relay-url']?.join(','),
      inboxDir: flags['inbox-dir'] === undefined ? undefined : resolve(flags['inbox-dir']),
      metadata,
    })
    this.log(`Registered ${agentLine(agent)}`)
    if (atRelay === undefined) {
      if (agent.transport === 'http' && hasA2ASkills(agent)) {
        process.stderr.write(
          `Note: the relay publishes ${agent.agentId}'s A2A card from its own registry: add --at-relay to register this profile there too (or register it in the relay's database, --db <relay data dir>/relay.db).\n`,
        )
      }
      return { agent }
    }
    const relay = await atRelay.register(agent)
    this.log(`Registered ${agent.agentId} at its relay ${relay.url} too`)
    return { agent, relay }
  }

  /**
   * For `--at-relay`: checked before anything is written (an http agent, its secret set here), then what
   * registers the profile at the relay once the local registration is done.
   */
  async #relayRegistration(
    runtime: Runtime,
    transport: string | undefined,
    relayUrls: string[] | undefined,
    agentId: string,
  ): Promise<{ register(agent: AgentProfile): Promise<RelayRegistration> } | undefined> {
    if (!this.flags['at-relay']) return undefined
    if (transport !== 'http' || relayUrls === undefined) {
      throw new runtime.ValidationError(
        'Invalid --at-relay: it is for an agent reached through a relay',
        [{ path: 'at-relay', message: 'needs --transport-type http and --relay-url' }],
        { hint: 'Give --transport-type http --relay-url <url> with it, or leave --at-relay out.' },
      )
    }
    const { RelayClient, noRelaySecret, secretEnvName, secretFromEnv } = await runtime.loadTransportHttp()
    if (secretFromEnv(process.env, agentId) === undefined) throw noRelaySecret(agentId)
    return {
      async register(agent) {
        const url = agent.relayUrl!
        const client = new RelayClient({ baseUrl: url, secretFor: (id) => secretFromEnv(process.env, id) })
        try {
          const { capabilities, device, transport, relayUrl, metadata } = agent
          await client.register({ agentId, capabilities, device, transport, relayUrl, metadata })
          return { url, registered: true }
        } catch (error) {
          // The local registration stands: say so, with the relay's own code and exit code.
          const code = (error as { code?: unknown }).code
          const failure = typeof code === 'string' ? code : 'UNAVAILABLE'
          throw new CommandFailure(
            failure,
            `Registered ${agentId} in this database, but not at its relay ${url}: ${errorMessage(error)}`,
            {
              hint: `Check that the relay is up and that ${secretEnvName(agentId)} is the secret it issued, then run this command again.`,
              exitCode: exitCodeFor(failure),
              cause: error,
            },
          )
        } finally {
          await client.close()
        }
      },
    }
  }
}

/** Whether the profile offers A2A skills: what a relay publishes from its own registry only. */
function hasA2ASkills(agent: AgentProfile): boolean {
  const a2a = (agent.metadata as { a2a?: { skills?: unknown[] } } | undefined)?.a2a
  return (a2a?.skills?.length ?? 0) > 0
}

/**
 * `metadata.a2a` from the flags: skills as `id|Name|tag1,tag2`, or the card URL of an external agent.
 * Parsed here, without loading the A2A package (it is checked again where it is used).
 */
function a2aMetadata(
  skills: string[] | undefined,
  url: string | undefined,
  ValidationError: typeof import('@agent-comm/protocol').ValidationError,
): { skills: { id: string; name?: string; tags: string[] }[]; url?: string } | undefined {
  if ((skills === undefined || skills.length === 0) && url === undefined) return undefined
  const parsed = (skills ?? []).map((value) => {
    const [id = '', name, tags] = value.split('|').map((s) => s.trim())
    if (!/^[A-Za-z0-9._:-]{1,128}$/.test(id)) {
      throw new ValidationError(
        `Invalid --a2a-skill '${value}': the id must be 1-128 letters, digits and . _ : -`,
        [{ path: 'a2a-skill', message: 'bad skill id' }],
        { hint: 'Give id, id|Name or id|Name|tag1,tag2, e.g. --a2a-skill "answer|Answer questions|qa"' },
      )
    }
    return {
      id,
      // Absent, not undefined: metadata must be JSON, which has no undefined (z.json() refuses it).
      ...(name === undefined || name === '' ? {} : { name }),
      tags: (tags ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    }
  })
  if (url !== undefined && !/^https?:\/\/\S+$/.test(url)) {
    throw new ValidationError(
      `Invalid --a2a-url '${url}': it must be an http(s) URL`,
      [{ path: 'a2a-url', message: 'must be an http(s) URL' }],
      { hint: 'Give the agent card URL, e.g. https://host/.well-known/agent-card.json' },
    )
  }
  // Absent for the same reason as `name` above.
  return { skills: parsed, ...(url === undefined ? {} : { url }) }
}
