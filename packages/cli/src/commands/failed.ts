import type { Coordinator } from '@agent-comm/coordinator'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { limitFlag } from '../flags.js'
import { failedText } from '../format.js'

/** `--json` output of `failed`. */
export interface FailedResult {
  count: number
  /** Newest first: each {message, delivery}, with delivery.lastError saying why it failed. */
  failed: Awaited<ReturnType<Coordinator['listFailed']>>
}

/** `agent-comm failed`: lists dead-lettered deliveries. */
export default class Failed extends BaseCommand<typeof Failed> {
  protected override readonly readsOnly = true

  static override summary = 'List dead-lettered deliveries: messages that ran out of attempts.'
  static override description = 'Requeue one with `retry <message-id> [agent]` once the cause is fixed.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --agent builder --json',
  ]
  static override flags = {
    agent: Flags.string({ description: 'only deliveries to this agent' }),
    limit: limitFlag({ description: 'at most this many (default 50)', max: 1000 }),
  }

  async run(): Promise<FailedResult> {
    const coordinator = await this.coordinator()
    const failed = await coordinator.listFailed({
      ...(this.flags.agent === undefined ? {} : { agent: this.flags.agent }),
      ...(this.flags.limit === undefined ? {} : { limit: this.flags.limit }),
    })
    this.log(failedText(failed))
    return { count: failed.length, failed }
  }
}
