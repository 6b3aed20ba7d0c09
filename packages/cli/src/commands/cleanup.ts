import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { cleanupA2ATasks } from '../context.js'
import { examples } from '../examples.js'
import { durationFlag } from '../flags.js'
import type { CleanupResult } from '../json-output.js'

/** `agent-comm cleanup`: removes expired and long-acknowledged messages. */
export default class Cleanup extends BaseCommand<typeof Cleanup> {
  static override summary = 'Remove expired messages, and optionally long-acknowledged ones.'
  static override description =
    "Expired messages (past their TTL) are removed with their deliveries; --expired-older-than keeps them (dead letters among them) until they expired longer ago than the duration. --acked-older-than also removes messages whose every delivery was acked longer ago than the duration, and, on a relay's database (its relay.db, or its PostgreSQL schema), the finished A2A tasks (completed, failed, canceled, rejected) whose last change is older than the duration and than 24 hours (the window in which a caller's retry of a message still finds its task), with the message ids their callers sent; open tasks stay. --dry-run only counts."
  static override examples = examples`
    --dry-run
    <%= config.bin %> <%= command.id %>
    --acked-older-than 7d
    --acked-older-than 7d --expired-older-than 7d   # what a relay does hourly
  `
  static override flags = {
    'dry-run': Flags.boolean({ description: 'report what would be removed, remove nothing' }),
    'acked-older-than': durationFlag({
      description: 'also remove messages fully acked longer ago than this (7d, 12h, 30m)',
    }),
    'expired-older-than': durationFlag({
      description: 'remove expired messages only once they expired longer ago than this (default: at once)',
    }),
  }

  protected static override fieldFlags = {
    ackedOlderThanMs: '--acked-older-than',
    expiredOlderThanMs: '--expired-older-than',
  }

  async run(): Promise<CleanupResult> {
    const coordinator = await this.coordinator()
    const report = await coordinator.cleanup({
      ...(this.flags['dry-run'] ? { dryRun: true } : {}),
      ackedOlderThanMs: this.flags['acked-older-than'],
      expiredOlderThanMs: this.flags['expired-older-than'],
    })
    const a2a = await cleanupA2ATasks(await this.coordinatorConfig(), {
      olderThanMs: this.flags['acked-older-than'],
      dryRun: report.dryRun,
    })
    const verb = report.dryRun ? 'Would remove' : 'Removed'
    this.log(
      `${verb} ${report.expiredMessages} expired message(s) and ${report.ackedMessages} acked message(s) (${report.deliveries} deliveries)${a2a === undefined ? '' : `, ${a2a.tasks} finished A2A task(s) (${a2a.callerMessages} caller message ids)`}`,
    )
    return a2a === undefined
      ? report
      : { ...report, a2aTasks: a2a.tasks, a2aCallerMessages: a2a.callerMessages }
  }
}
