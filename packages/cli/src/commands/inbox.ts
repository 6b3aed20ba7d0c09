import type { Coordinator } from '@agent-comm/coordinator'
import { Flags } from '@oclif/core'
import { agentArg, BaseCommand } from '../base-command.js'
import { errorJson, formatErrorText } from '../errors.js'
import { examples } from '../examples.js'
import { listLimitFlag } from '../flags.js'
import { leaseText, messageLine } from '../format.js'
import { HookInboxError, type HookInboxResult, runHook } from '../hook-inbox.js'
import type { InboxResult } from '../json-output.js'

type Pending = Awaited<ReturnType<Coordinator['pending']>>

/** `agent-comm inbox`: shows what waits for an agent without claiming it. */
export default class Inbox extends BaseCommand<typeof Inbox> {
  protected override readonly readsOnly = true

  static override summary = 'Show the messages waiting for an agent without claiming them.'
  static override description =
    `A look at the agent's inbox that changes nothing: every message queued for it (due, or delayed until later) or leased to it and not yet acked, in the order poll would claim them (most urgent first, then oldest), with each delivery's state and attempt. Use poll to claim them.

Only agents on the local spool (transport sqlite) can be looked at this way; for a file or http agent it exits 2.`
  static override examples = examples`
    builder
    builder --new --since-cursor --client claude-code --format hook-json   # for hooks
    builder --limit 5 --json
  `
  static override args = { agent: agentArg('agent whose waiting messages to show') }
  static override flags = {
    limit: listLimitFlag('show at most this many', { showRange: true }),
    new: Flags.boolean({
      description:
        'for assistant hooks: one short line of the unclaimed mail (nothing when there is none), fast (SQLite or PostgreSQL)',
    }),
    'since-cursor': Flags.boolean({
      description: "with --new: only mail newer than this client's stored cursor, then move the cursor",
      dependsOn: ['new'],
    }),
    format: Flags.string({
      description: 'with --new: text, or hook-json ({"hookSpecificOutput":{"additionalContext":…}})',
      options: ['text', 'hook-json'],
      dependsOn: ['new'],
    }),
    client: Flags.string({
      description: 'with --since-cursor: whose cursor (e.g. claude-code, codex; default "default")',
      dependsOn: ['new'],
    }),
    event: Flags.string({
      description: 'with --format hook-json: the hook event named in the output (default UserPromptSubmit)',
      dependsOn: ['new'],
    }),
  }

  async run(): Promise<InboxResult | HookInboxResult> {
    if (this.flags.new) {
      // bin/run.js normally answers --new before oclif loads; this is the same command for every other line
      // (it finds the database as bin/run.js does: --db, AGENT_COMM_DB_PATH_FILE, AGENT_COMM_DB_PATH).
      const flags = {
        agent: this.args.agent,
        db: this.flags.db,
        client: this.flags.client,
        format: this.flags.format,
        event: this.flags.event,
        sinceCursor: this.flags['since-cursor'],
        json: this.flags.json,
      }
      let hook: Awaited<ReturnType<typeof runHook>>
      try {
        hook = await runHook(flags, process.env, process.cwd())
      } catch (error) {
        if (!(error instanceof HookInboxError)) throw error
        // The hook reads the file with SQLite alone, whose errors ("unable to open database file", "no
        // such table") do not say what is wrong: opening it as every command does names a missing, empty,
        // foreign or misnamed database (and throws that); a database it opens leaves the hook's error.
        if (error.unexplained) await this.coordinator()
        if (this.jsonEnabled()) this.logJson(errorJson(error.report))
        else process.stderr.write(formatErrorText(error.report))
        this.exit(error.report.exitCode)
      }
      // With --json oclif prints the document returned.
      if (!this.jsonEnabled()) process.stdout.write(hook.output)
      return hook.result
    }
    const coordinator = await this.coordinator()
    const { agent } = this.args
    const pending = await coordinator.pending(agent, { limit: this.flags.limit })
    this.log(inboxText(agent, pending, Date.now()))
    return { agent, count: pending.length, pending }
  }
}

/** The `inbox` text: each waiting message with its delivery's state as read at `now`. */
export function inboxText(agent: string, pending: Pending, now: number): string {
  if (pending.length === 0) return `No messages waiting for ${agent}`
  return [
    `${pending.length} message(s) waiting for ${agent} (not claimed):`,
    ...pending.map(({ message, delivery }) => {
      const state =
        delivery.status === 'leased'
          ? delivery.leaseUntil === null
            ? 'leased'
            : leaseText(delivery.leaseUntil, now)
          : delivery.availableAt === null || Date.parse(delivery.availableAt) <= now
            ? 'queued'
            : `queued until ${delivery.availableAt}`
      return `${messageLine(message)}  ${state}  attempt ${delivery.attempt}/${delivery.maxAttempts}`
    }),
  ].join('\n')
}
