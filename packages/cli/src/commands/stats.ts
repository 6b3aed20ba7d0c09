import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { ExitCode } from '../errors.js'
import { examples } from '../examples.js'
import type { StatsResult } from '../json-output.js'

/** `agent-comm stats`: spool statistics as JSON, optionally with the integrity checks. */
export default class Stats extends BaseCommand<typeof Stats> {
  protected override readonly readsOnly = true

  static override summary = 'Print spool statistics as JSON.'
  static override description =
    `Always JSON, as in the Python original: totalMessages, deliveries by status (queued, leased, acked, failed, expired), oldestQueuedAgeMs, oldestLeaseAgeMs, failedRate, live deliveries per agent (agents) and registered agents by presence (registeredAgents).

--verify also runs SQLite's integrity check and the spool's invariant checks, adds a "verify" object ({ok, checks, problems}) and exits with code 1 if it finds a problem.`
  static override examples = examples`
    <%= config.bin %> <%= command.id %>
    | jq .deliveries.queued
    --verify || echo "database needs attention"
  `
  static override flags = {
    verify: Flags.boolean({ description: 'run the integrity checks; exit 1 on a problem' }),
  }

  async run(): Promise<StatsResult> {
    const coordinator = await this.coordinator()
    const stats: StatsResult = await coordinator.stats()
    if (this.flags.verify) stats.verify = await coordinator.verify()
    const failed = stats.verify !== undefined && !stats.verify.ok
    // Stats are JSON even without --json; with --json and no problem, oclif prints the returned value.
    if (!this.jsonEnabled() || failed) this.logJson(stats)
    if (failed) {
      const problems = stats.verify?.problems ?? []
      process.stderr.write(
        `Error: the integrity check found ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}\nBack up the database file, then restore it from a backup or move it aside to start afresh.\n`,
      )
      this.exit(ExitCode.FAILURE)
    }
    return stats
  }
}
