import { BaseCommand } from '../base-command.js'
import { examples } from '../examples.js'
import { agentIdFlag, listLimitFlag } from '../flags.js'
import { conversationsText } from '../format.js'
import type { ConversationsResult } from '../json-output.js'

/** `agent-comm conversations`: lists threads. */
export default class Conversations extends BaseCommand<typeof Conversations> {
  protected override readonly readsOnly = true

  static override summary = 'List conversations (threads), most recent first.'
  static override description =
    'A conversation groups a message and every reply to it. Each line shows its id, first subject, message count, participants and last activity.'
  static override examples = examples('', '--agent builder --limit 5')
  static override flags = {
    agent: agentIdFlag({ description: 'only conversations this agent took part in' }),
    limit: listLimitFlag('at most this many conversations'),
  }

  async run(): Promise<ConversationsResult> {
    const coordinator = await this.coordinator()
    const conversations = await coordinator.conversations({
      agent: this.flags.agent,
      limit: this.flags.limit,
    })
    this.log(conversationsText(conversations))
    return { count: conversations.length, conversations }
  }
}
