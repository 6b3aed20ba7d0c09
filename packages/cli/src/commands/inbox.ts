import type { Coordinator } from '@agent-comm/coordinator'
import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { limitFlag } from '../flags.js'
import { messageLine } from '../format.js'

type Pending = Awaited<ReturnType<Coordinator['pending']>>

/** `--json` output of `inbox`. */
export interface InboxResult {
  agent: string
  count: number
  /** Each waiting {message, delivery}, in the order poll would claim them; nothing is claimed. */
  pending: Pending
}

/** `agent-comm inbox`: shows what waits for an agent without claiming it. */
export default class Inbox extends BaseCommand<typeof Inbox> {
  protected override readonly readsOnly = true

  static override summary = 'Show the messages waiting for an agent without claiming them.'
  static override description =
    `A look at the agent's inbox that changes nothing: every message queued for it (due, or delayed until later) or leased to it and not yet acked, in the order poll would claim them (most urgent first, then oldest), with each delivery's state and attempt. Use poll to claim them.

Only agents on the local spool (transport sqlite) can be looked at this way; for a file or http agent it exits 2.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> builder',
    '<%= config.bin %> <%= command.id %> builder --limit 5 --json',
  ]
  static override args = {
    agent: Args.string({ description: 'agent whose waiting messages to show', required: true }),
  }
  static override flags = {
    limit: limitFlag({ description: 'show at most this many (1-1000, default 50)', max: 1000 }),
  }

  async run(): Promise<InboxResult> {
    const coordinator = await this.coordinator()
    const { agent } = this.args
    const pending = await coordinator.pending(agent, {
      ...(this.flags.limit === undefined ? {} : { limit: this.flags.limit }),
    })
    this.log(inboxText(agent, pending))
    return { agent, count: pending.length, pending }
  }
}

function inboxText(agent: string, pending: Pending): string {
  if (pending.length === 0) return `No messages waiting for ${agent}`
  return [
    `${pending.length} message(s) waiting for ${agent} (not claimed):`,
    ...pending.map(({ message, delivery }) => {
      const state =
        delivery.status === 'leased'
          ? `leased until ${delivery.leaseUntil}`
          : delivery.availableAt === null || Date.parse(delivery.availableAt) <= Date.now()
            ? 'queued'
            : `queued until ${delivery.availableAt}`
      return `${messageLine(message)}  ${state}  attempt ${delivery.attempt}/${delivery.maxAttempts}`
    }),
  ].join('\n')
}
