import { bigint, bigserial, index, integer, primaryKey, text } from 'drizzle-orm/pg-core'
import { spoolSchema } from './schema.js'

// The A2A endpoint's tables (`PostgresA2AStore`), in the spool's schema beside its tables: the same
// tables as the SQLite store's (`@agent-comm/a2a`), with bigint times. Made by the migration
// `0006_a2a`, which also adopts the tables an earlier version created by hand (same names and columns).

/** Bearer tokens of external A2A callers: only the SHA-256 of a token is kept. */
export const a2aTokens = spoolSchema.table('a2a_tokens', {
  name: text('name').primaryKey(),
  tokenHash: text('token_hash').notNull().unique(),
  /** JSON array of the agents the caller may reach, or null for all that opted in. */
  agents: text('agents'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  revokedAt: bigint('revoked_at', { mode: 'number' }),
})

/** A2A tasks: caller, agent, context, the spool message waited on, and the task as A2A JSON. */
export const a2aTasks = spoolSchema.table(
  'a2a_tasks',
  {
    id: text('id').primaryKey(),
    caller: text('caller').notNull(),
    agent: text('agent').notNull(),
    contextId: text('context_id').notNull(),
    messageId: text('message_id').notNull(),
    state: text('state').notNull(),
    task: text('task').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    /** Insertion order: breaks ties between tasks created in the same millisecond. */
    position: bigserial('position', { mode: 'number' }),
  },
  (t) => [index('a2a_tasks_state').on(t.state), index('a2a_tasks_context').on(t.caller, t.contextId)],
)

/** Every spool message a task sent (one per turn): a reply names one of them in `replyTo`. */
export const a2aTaskMessages = spoolSchema.table('a2a_task_messages', {
  messageId: text('message_id').primaryKey(),
  taskId: text('task_id').notNull(),
})

/** Each task's stream events in order, replayed to a stream that reconnects on any replica. */
export const a2aEvents = spoolSchema.table(
  'a2a_events',
  {
    taskId: text('task_id').notNull(),
    seq: integer('seq').notNull(),
    event: text('event').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.seq] })],
)

/** Push-notification configs of tasks (A2A `TaskPushNotificationConfig` JSON). */
export const a2aPushConfigs = spoolSchema.table(
  'a2a_push_configs',
  {
    taskId: text('task_id').notNull(),
    id: text('id').notNull(),
    config: text('config').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.id] })],
)

/** The push outbox: one row per event and config, written with the event, retried until done. */
export const a2aPushOutbox = spoolSchema.table(
  'a2a_push_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    taskId: text('task_id').notNull(),
    configId: text('config_id').notNull(),
    seq: integer('seq').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAt: bigint('next_at', { mode: 'number' }).notNull(),
    lastError: text('last_error'),
    doneAt: bigint('done_at', { mode: 'number' }),
  },
  (t) => [index('a2a_push_outbox_due').on(t.doneAt, t.nextAt)],
)

/**
 * The key pairs pushes are signed with (ES256): the current one (`retired_at` null) signs, retired ones
 * stay in the JWKS until `expires_at`. The private key is sealed under the relay's secrets key.
 */
export const a2aSigningKeys = spoolSchema.table(
  'a2a_signing_keys',
  {
    kid: text('kid').primaryKey(),
    alg: text('alg').notNull(),
    publicJwk: text('public_jwk').notNull(),
    sealedPrivateJwk: text('sealed_private_jwk').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    retiredAt: bigint('retired_at', { mode: 'number' }),
    expiresAt: bigint('expires_at', { mode: 'number' }),
  },
  (t) => [index('a2a_signing_keys_retired').on(t.retiredAt)],
)
