import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { examples } from '../examples.js'
import { conversationText } from '../format.js'
import type { ConversationResult } from '../json-output.js'

/** `agent-comm conversation`: prints one thread. */
export default class Conversation extends BaseCommand<typeof Conversation> {
  protected override readonly readsOnly = true

  static override summary = 'Show every message of one conversation, oldest first.'
  static override examples = examples`
    conv_01M89DRRW3A0BJPW9HJJS7R1WP
    <%= config.bin %> <%= command.id %> "$(<%= config.bin %> status "$id" --json | jq -r .message.routing.conversationId)"
  `
  static override args = {
    id: Args.string({ description: 'conversation id (conversations lists them)', required: true }),
  }

  async run(): Promise<ConversationResult> {
    const coordinator = await this.coordinator()
    const messages = await coordinator.conversation(this.args.id)
    if (messages.length === 0) {
      const { AgentCommError } = await this.runtime()
      throw new AgentCommError(
        'MESSAGE_NOT_FOUND',
        `Conversation '${this.args.id}' not found: it has no messages`,
        {
          hint: 'List conversations with: agent-comm conversations (expired and cleaned-up messages are gone)',
        },
      )
    }
    this.log(conversationText(this.args.id, messages))
    return { conversationId: this.args.id, count: messages.length, messages }
  }
}
