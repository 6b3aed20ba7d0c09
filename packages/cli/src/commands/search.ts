import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { examples } from '../examples.js'
import { agentIdFlag, listLimitFlag, sinceFlag } from '../flags.js'
import { searchText } from '../format.js'
import type { SearchResult } from '../json-output.js'

/** `agent-comm search`: finds messages by text, sender, recipient, conversation and time. */
export default class Search extends BaseCommand<typeof Search> {
  protected override readonly readsOnly = true

  static override summary =
    'Find messages by words in subject and body, sender, recipient, conversation and time.'
  static override description =
    'Every filter given must match. Text matches whole words of the subject and body (all words must appear). Newest first.'
  static override examples = examples`
    "auth module"
    --conversation conv_01M89DRRW3A0BJPW9HJJS7R1WP
    --from architect --to builder --since 2h
    review --since 2026-02-01T00:00:00Z --limit 5 --json
  `
  static override args = {
    text: Args.string({ description: 'words to look for in subject and body' }),
  }
  static override flags = {
    from: agentIdFlag({ description: 'sent by this agent' }),
    to: agentIdFlag({ description: "sent to this agent (or '*')", recipient: true }),
    conversation: Flags.string({ description: 'in this conversation', helpValue: '<id>' }),
    since: sinceFlag({
      description: 'sent at or after this time: ISO time, or a duration ago like 2h, 30m, 7d',
    }),
    limit: listLimitFlag('at most this many messages'),
  }

  async run(): Promise<SearchResult> {
    const { args, flags } = this
    const coordinator = await this.coordinator()
    const messages = await coordinator.search({
      text: args.text?.trim() === '' ? undefined : args.text,
      from: flags.from,
      to: flags.to,
      conversationId: flags.conversation,
      since: flags.since,
      limit: flags.limit,
    })
    this.log(searchText(messages))
    return { count: messages.length, messages }
  }
}
