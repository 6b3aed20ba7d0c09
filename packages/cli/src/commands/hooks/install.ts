import { errorMessage } from '@agent-comm/protocol/errors'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { examples } from '../../examples.js'
import { AGENT_ID_EXPECTED, parseFlagValue } from '../../flag-errors.js'
import { applyOrPrint, installTarget, type PlannedFile, planHooks } from '../../install-plan.js'
import type { HooksInstallResult } from '../../json-output.js'

/** `agent-comm hooks install`: the hooks that put new mail into the assistant's context. */
export default class HooksInstall extends BaseCommand<typeof HooksInstall> {
  static override summary = "Add hooks that show an agent's new mail to Claude Code or Codex on every prompt."
  static override description =
    `Writes SessionStart and UserPromptSubmit hooks that run "agent-comm inbox AGENT --new --format hook-json": at the start of a session the assistant sees the unclaimed mail waiting for AGENT, and before each prompt what arrived since (a cursor per agent and client, beside a SQLite database; for PostgreSQL under ~/.agent-comm/hooks/). A few hundred characters at most, nothing when nothing is new. Existing hooks are kept; earlier agent-comm hooks are replaced.

On PostgreSQL a hook waits at most 3 s for the server. A URL with a password is kept in a file only you may read (~/.agent-comm/databases/<hash>.url), which the hooks name in AGENT_COMM_DB_PATH_FILE: the password is in no hooks file and on no command line.

Claude Code: .claude/settings.json (--scope project, the default) or ~/.claude/settings.json (--scope user). Codex: .codex/hooks.json or ~/.codex/hooks.json, and [features] codex_hooks = true in the config.toml beside it.`
  static override examples = examples`
    --client claude-code --agent builder
    --client codex --agent builder --scope user --dry-run
  `
  static override flags = {
    client: Flags.string({ description: 'the assistant', options: ['claude-code', 'codex'], required: true }),
    agent: Flags.string({
      description: 'the agent whose mail to show (default: AGENT_COMM_AGENT)',
      helpValue: '<id>',
    }),
    scope: Flags.string({
      description: 'project folder or your user settings',
      options: ['project', 'user'],
      default: 'project',
    }),
    'dry-run': Flags.boolean({ description: 'print what would be written, write nothing' }),
  }

  async run(): Promise<HooksInstallResult> {
    const { flags } = this
    const agent = flags.agent ?? process.env.AGENT_COMM_AGENT
    if (agent === undefined || agent === '')
      this.error('Say whose mail the hooks show: --agent <id> (or set AGENT_COMM_AGENT)', { exit: 2 })
    // The same rule as `register`: the id lands in the hook's command line and in the cursor's file name.
    const runtime = await this.runtime()
    runtime.assertRegistrableAgentId(
      parseFlagValue(runtime, runtime.AgentIdSchema, agent, '--agent', AGENT_ID_EXPECTED),
    )
    const { places, database, schema, base } = installTarget(await this.givenDatabase())
    let files: PlannedFile[]
    try {
      files = planHooks(
        flags.client as 'claude-code' | 'codex',
        flags.scope as 'project' | 'user',
        places,
        base,
        agent,
        database,
        { schema },
      )
    } catch (error) {
      this.error(errorMessage(error), { exit: 2 })
    }
    const shown = applyOrPrint(this, files, flags['dry-run'])
    return { dryRun: flags['dry-run'], files: shown }
  }
}
