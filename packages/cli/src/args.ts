import { Args } from '@oclif/core'

// The arguments several commands take, each written once: oclif's arguments are optional unless said,
// and these are always required. `description` says what the command wants of it (`agent holding its
// lease`); the help shows it beside the argument's name.

/** A required agent id: the agent a command acts on or as (`poll <agent>`, `send <from> <to>`). */
export function agentArg(description: string) {
  return Args.string({ description, required: true })
}

/** A required message id (`msg_…`, as send prints it). */
export function messageIdArg(description: string) {
  return Args.string({ description, required: true })
}

/**
 * `<message-id> <agent>`: one delivery, a message and the recipient it went to, that `ack`, `nack`,
 * `extend` and `reply` act on.
 */
export function deliveryArgs(message: string, agent: string) {
  return { 'message-id': messageIdArg(message), agent: agentArg(agent) }
}
