import { errorMessage } from '@agent-comm/protocol/errors'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { CLIENTS, type ClientName, SERVER_KEY } from '../../client-config.js'
import { examples } from '../../examples.js'
import { AGENT_ID_EXPECTED, parseFlagValue } from '../../flag-errors.js'
import {
  applyOrPrint,
  combinePlans,
  databaseEntry,
  installTarget,
  type PlannedFile,
  planHooks,
  planServer,
  serverSpec,
} from '../../install-plan.js'
import type { McpInstallResult } from '../../json-output.js'

/** `agent-comm mcp install`: one command to add agent-comm to an assistant. */
export default class McpInstall extends BaseCommand<typeof McpInstall> {
  static override summary =
    "Add agent-comm's MCP server to an assistant's configuration (Claude Code, Claude Desktop, Codex, Cursor, VS Code, Gemini CLI)."
  static override description =
    `Writes (or with --dry-run prints) the client's server entry: this Node and this agent-comm by absolute path (so it works from a checkout before anything is published), the database by absolute path (--db / AGENT_COMM_DB_PATH), and the timeouts the client needs (Codex: startup_timeout_sec and tool_timeout_sec above the 50 s long-wait cap). It merges into an existing file: other servers and settings stay as they are.

Files: claude-code .mcp.json (project) or ~/.claude.json (user); claude-desktop claude_desktop_config.json (user only); codex .codex/config.toml or ~/.codex/config.toml; cursor .cursor/mcp.json or ~/.cursor/mcp.json; vscode .vscode/mcp.json or the user mcp.json; gemini .gemini/settings.json or ~/.gemini/settings.json.

--agent binds the server to one agent (registered on connect, the default sender and recipient, no acting as others). --channel (Claude Code) pushes new mail into the session; start Claude Code with the printed --dangerously-load-development-channels flag. --hooks also installs the inbox hooks (Claude Code, Codex).`
  static override examples = examples`
    --client claude-code --agent builder --channel --hooks
    --client codex --agent reviewer --scope user
    --client cursor --dry-run
  `
  static override flags = {
    client: Flags.string({
      description: 'the assistant to configure',
      options: [...CLIENTS],
      required: true,
    }),
    agent: Flags.string({ description: 'bind the server to this agent', helpValue: '<id>' }),
    scope: Flags.string({
      description: 'this project (default; Claude Desktop: user) or your user configuration',
      options: ['project', 'user'],
    }),
    channel: Flags.boolean({ description: 'Claude Code: announce new mail in the session (needs --agent)' }),
    hooks: Flags.boolean({
      description: 'Claude Code / Codex: also install the inbox hooks (needs --agent)',
    }),
    tools: Flags.string({
      description: 'tool profile: core, messaging, admin, all or a comma list',
      helpValue: '<profile>',
    }),
    'dry-run': Flags.boolean({ description: 'print what would be written, write nothing' }),
  }

  async run(): Promise<McpInstallResult> {
    const { flags } = this
    const client = flags.client as ClientName
    const scope = (flags.scope ?? (client === 'claude-desktop' ? 'user' : 'project')) as 'project' | 'user'
    if (flags.agent !== undefined) {
      // The same rule as `register`: the id lands in the client's command lines and in file names.
      const runtime = await this.runtime()
      runtime.assertRegistrableAgentId(
        parseFlagValue(runtime, runtime.AgentIdSchema, flags.agent, '--agent', AGENT_ID_EXPECTED),
      )
    }
    if (flags.channel && client !== 'claude-code')
      this.error('--channel is a Claude Code feature', { exit: 2 })
    if ((flags.channel || flags.hooks) && flags.agent === undefined) {
      this.error('--channel and --hooks need --agent <id>: whose mail to announce', { exit: 2 })
    }
    if (flags.hooks && client !== 'claude-code' && client !== 'codex') {
      this.error('--hooks: only Claude Code and Codex run hooks that add context', { exit: 2 })
    }
    const { places, database, schema, base } = installTarget(await this.givenDatabase())
    let files: PlannedFile[]
    try {
      const entry = databaseEntry(places, database, schema)
      const server = planServer(
        client,
        scope,
        places,
        serverSpec({ base, env: entry.env, agent: flags.agent, channel: flags.channel, tools: flags.tools }),
      )
      files = flags.hooks
        ? combinePlans(
            [...entry.files, server],
            planHooks(client as 'claude-code' | 'codex', scope, places, base, flags.agent!, database, {
              drafts: [server],
              schema,
            }),
          )
        : [...entry.files, server]
    } catch (error) {
      this.error(errorMessage(error), { exit: 2 })
    }
    const shown = applyOrPrint(this, files, flags['dry-run'])
    const launch = flags.channel
      ? `claude --dangerously-load-development-channels server:${SERVER_KEY}`
      : undefined
    if (launch !== undefined) this.log(`Start Claude Code with the channel: ${launch}`)
    return { client, dryRun: flags['dry-run'], files: shown, launch }
  }
}
