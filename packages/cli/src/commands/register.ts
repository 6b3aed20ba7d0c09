import { resolve } from 'node:path'
import type { AgentProfile } from '@agent-comm/protocol'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { jsonFlag } from '../flags.js'
import { agentLine } from '../format.js'
import { TRANSPORT_KINDS } from '../vocabulary.js'

/** `--json` output of `register`. */
export interface RegisterResult {
  agent: AgentProfile
}

/** `agent-comm register`: adds an agent to the registry or updates its profile. */
export default class Register extends BaseCommand<typeof Register> {
  static override summary = 'Register an agent, or update the profile of one already registered.'
  static override description =
    `Capabilities say what the agent can do; other agents find it by them (agents --capability, send capability:<name>). Registering again replaces the profile and keeps the registration time. An agent must be registered before messages can be sent to it.

Transports: sqlite (default) shares this database; http reaches an agent through a relay (--relay-url); file drops messages as JSON files in a folder (--inbox-dir).`
  static override examples = [
    '<%= config.bin %> <%= command.id %> agent-a -c "send,receive" -d local',
    '<%= config.bin %> <%= command.id %> reviewer -c code,review -d workstation --metadata \'{"model":"gpt-5"}\'',
    '<%= config.bin %> <%= command.id %> remote -c approve -d laptop --transport-type http --relay-url https://relay.example.com',
    '<%= config.bin %> <%= command.id %> watcher -c notify -d nas --transport-type file --inbox-dir ./inboxes/watcher',
  ]
  static override args = {
    name: Args.string({ description: 'agent id: letters, digits and . _ : @ -', required: true }),
  }
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
        'relay base URL (required with --transport-type http); repeat it, or comma-separate, for replicas without one address in front',
      helpValue: '<url>',
      multiple: true,
    }),
    'inbox-dir': Flags.string({
      description: 'folder the agent reads its messages from (required with --transport-type file)',
      helpValue: '<dir>',
    }),
    metadata: jsonFlag({
      description: 'free-form JSON object stored with the profile',
      helpValue: '<json object>',
    }),
  }

  /** Registering is how a project's database comes to be: it is created when missing. */
  protected override readonly createsDatabase = true

  async run(): Promise<RegisterResult> {
    const { flags, args } = this
    const { JsonObjectSchema, parseOrThrow } = await this.runtime()
    const metadata =
      flags.metadata === undefined
        ? undefined
        : parseOrThrow(JsonObjectSchema, flags.metadata, '--metadata (a JSON object)')
    const coordinator = await this.coordinator()
    const agent = await coordinator.register({
      agentId: args.name,
      capabilities: flags.capabilities
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
      device: flags.device,
      ...(flags['transport-type'] === undefined
        ? {}
        : { transport: flags['transport-type'] as AgentProfile['transport'] }),
      ...(flags['relay-url'] === undefined ? {} : { relayUrl: flags['relay-url'].join(',') }),
      ...(flags['inbox-dir'] === undefined ? {} : { inboxDir: resolve(flags['inbox-dir']) }),
      ...(metadata === undefined ? {} : { metadata }),
    })
    this.log(`Registered ${agentLine(agent)}`)
    return { agent }
  }
}
