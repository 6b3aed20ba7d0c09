import { z } from 'zod'
import { ValidationError } from './errors.js'
import { lazySchema } from './lazy-schema.js'
import { Limits } from './limits.js'

/** The characters of every id: agents', messages', conversations'. */
const SAFE_ID_PATTERN = /^[A-Za-z0-9._:@-]+$/
/** Ids become folder and file names in the file transport: '.' and '..' would walk out of them. */
const DOTS_ONLY = /^\.+$/

/**
 * The rule every id follows (agents', and those that name a stored thing: messages', conversations'):
 * 1–`maxLength` characters of letters, digits and `. _ : @ -`, not dots only. Ids end up in URLs, file
 * names and terminals, so control characters (NUL, ESC), spaces and path separators are refused.
 */
function safeIdSchema(maxLength: number) {
  return z.string({ error: 'must be a string' }).check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(maxLength, `must be at most ${maxLength} characters`),
    z.regex(SAFE_ID_PATTERN, 'may contain only letters, digits and . _ : @ -'),
    z.refine((id) => !DOTS_ONLY.test(id), 'must not be made of dots only'),
  )
}

/** {@link safeIdSchema}'s rule without a parse, for paths that check many ids and parse only one that fails. */
function isSafeIdOf(value: unknown, maxLength: number): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= maxLength &&
    SAFE_ID_PATTERN.test(value) &&
    !DOTS_ONLY.test(value)
  )
}

/** An agent id: 1–128 characters of letters, digits and `. _ : @ -`. */
export const AgentIdSchema = lazySchema(() => safeIdSchema(Limits.agentIdMaxLength))

/** An agent id. */
export type AgentId = z.infer<typeof AgentIdSchema>

/**
 * Whether `AgentIdSchema` accepts `value`, without a parse: for a path that checks the same ids over and
 * over (the relay client signs every request as an agent) and parses only one that fails, for its error.
 */
export function isAgentId(value: unknown): value is string {
  return isSafeIdOf(value, Limits.agentIdMaxLength)
}

/** The address that means "every registered agent". */
export const BROADCAST_TARGET = '*'

/** Prefix of an address that means "every agent with this capability", e.g. `capability:review`. */
export const CAPABILITY_TARGET_PREFIX = 'capability:'

/** A recipient: an agent id, `*` for everyone, or `capability:<name>`. */
export const RecipientSchema = lazySchema(() =>
  z.union([AgentIdSchema, z.literal(BROADCAST_TARGET)], {
    error: `must be an agent id, '${BROADCAST_TARGET}' or '${CAPABILITY_TARGET_PREFIX}<name>'`,
  }),
)

/**
 * Whether `MessageIdSchema` (and `ConversationIdSchema`) accept `value`, without a parse: the same checks,
 * for a hot path that reads many ids (a claim of 100 checks each message's id) and parses only the one
 * that fails, for its error.
 */
export function isSafeId(value: unknown): value is string {
  return isSafeIdOf(value, Limits.idMaxLength)
}

/** A message id as made by `newMessageId`, or any id a client chose (1–128 safe characters). */
export const MessageIdSchema = lazySchema(() => safeIdSchema(Limits.idMaxLength))

/**
 * A conversation id as made by `newConversationId`, or any id a client chose: the same characters as a
 * message id.
 */
export const ConversationIdSchema = lazySchema(() => safeIdSchema(Limits.idMaxLength))

/**
 * An idempotency key chosen by a sender (one enqueue per sender and key within the window): 1–200
 * characters of letters, digits and `. _ : @ - / + =`, so a UUID, a hash or `task-42/attempt` all fit.
 */
export const IdempotencyKeySchema = lazySchema(() =>
  z
    .string({ error: 'must be a string' })
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(200, 'must be at most 200 characters'),
      z.regex(/^[A-Za-z0-9._:@/+=-]+$/, 'may contain only letters, digits and . _ : @ - / + ='),
    ),
)

/** The sender id of an external Agent2Agent caller (`a2a:<token name>`), whose inbox the relay's A2A endpoint reads. */
export const A2A_CALLER_PREFIX = 'a2a:'

/**
 * Prefixes an agent may not be registered under: `capability:<name>` reaches every agent with the
 * capability, `human:` and `a2a:` are kept for people and Agent2Agent peers — an agent named so could never
 * be told apart from the address (`*`, everyone, is already refused by the id's syntax) — and `system:`
 * names agent-comm's own senders (`system:expiry` decides approvals whose deadline passed), whom no
 * registered agent may pass for.
 */
export const RESERVED_AGENT_ID_PREFIXES = ['capability:', 'human:', A2A_CALLER_PREFIX, 'system:'] as const

/**
 * Refuses, as `register` and issuing a relay secret do, an agent id no agent may be registered under: one with a reserved prefix
 * ({@link RESERVED_AGENT_ID_PREFIXES}) or a leading `-`. For the id's syntax, parse it with `AgentIdSchema`.
 */
export function assertRegistrableAgentId(agentId: string): void {
  const prefix = RESERVED_AGENT_ID_PREFIXES.find((p) => agentId.toLowerCase().startsWith(p))
  if (prefix !== undefined) {
    refuseId(
      `must not start with '${prefix}': it is reserved for addresses and agent-comm's own senders (${RESERVED_AGENT_ID_PREFIXES.join(', ')} and *)`,
      agentId.slice(prefix.length),
    )
  }
  // On a command line such a name reads as an option (`agent-comm inbox -x --new`).
  if (agentId.startsWith('-'))
    refuseId("must not start with '-': it would read as an option", agentId.replace(/^-+/, ''))
}

function refuseId(message: string, suggestion: string): never {
  throw new ValidationError(`Invalid agent profile: agentId: ${message}`, [{ path: 'agentId', message }], {
    hint: `Choose another name, e.g. '${suggestion || 'my-agent'}'.`,
  })
}
