import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Bearer tokens of external A2A callers. Only the SHA-256 of a token is kept: a leaked database does not
 * leak working credentials. `agents` is a JSON array of the agents the caller may reach, or NULL for all
 * agents that opted in.
 */
export const a2aTokens = sqliteTable('a2a_tokens', {
  name: text('name').primaryKey(),
  tokenHash: text('token_hash').notNull().unique(),
  agents: text('agents'),
  createdAt: integer('created_at').notNull(),
  revokedAt: integer('revoked_at'),
})

/**
 * A2A tasks: who asked (`caller`, the token's name), which agent answers, the context, the spool message
 * the task now waits on, and the task as A2A JSON (status, history, artifacts). The spool holds the
 * delivery; this row holds what the spool does not (the A2A view, cancellation).
 */
export const a2aTasks = sqliteTable(
  'a2a_tasks',
  {
    id: text('id').primaryKey(),
    caller: text('caller').notNull(),
    agent: text('agent').notNull(),
    contextId: text('context_id').notNull(),
    messageId: text('message_id').notNull(),
    state: text('state').notNull(),
    task: text('task').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('a2a_tasks_state').on(t.state), index('a2a_tasks_context').on(t.caller, t.contextId)],
)

/** Every spool message a task sent (one per turn): a reply names one of them in `replyTo`. */
export const a2aTaskMessages = sqliteTable('a2a_task_messages', {
  messageId: text('message_id').primaryKey(),
  taskId: text('task_id').notNull(),
})

/**
 * Each task's stream events (A2A `StreamResponse` JSON) in order: a stream that reconnects, on this
 * relay or another replica, replays them from the sequence number it last saw.
 */
export const a2aEvents = sqliteTable(
  'a2a_events',
  {
    taskId: text('task_id').notNull(),
    seq: integer('seq').notNull(),
    event: text('event').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.seq] })],
)

/** Push-notification configs of tasks (A2A `TaskPushNotificationConfig` JSON), per task and config id. */
export const a2aPushConfigs = sqliteTable(
  'a2a_push_configs',
  {
    taskId: text('task_id').notNull(),
    id: text('id').notNull(),
    config: text('config').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.id] })],
)

/**
 * The push outbox: one row per event and config, written in the transaction that stores the event, so
 * no event is stored without its pushes. A row is due at `next_at`; it is retried with backoff until
 * delivered or out of attempts (`done_at` set either way, `last_error` says why it gave up).
 */
export const a2aPushOutbox = sqliteTable(
  'a2a_push_outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    taskId: text('task_id').notNull(),
    configId: text('config_id').notNull(),
    seq: integer('seq').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAt: integer('next_at').notNull(),
    lastError: text('last_error'),
    doneAt: integer('done_at'),
  },
  (t) => [index('a2a_push_outbox_due').on(t.doneAt, t.nextAt)],
)

/**
 * The key pairs push notifications are signed with (JWS, ES256): the current one (`retired_at` NULL)
 * signs, retired ones stay in the JWKS until `expires_at`. The private key is sealed under the relay's
 * secrets key (AES-256-GCM); every replica reads the same pair.
 */
export const a2aSigningKeys = sqliteTable(
  'a2a_signing_keys',
  {
    kid: text('kid').primaryKey(),
    alg: text('alg').notNull(),
    publicJwk: text('public_jwk').notNull(),
    sealedPrivateJwk: text('sealed_private_jwk').notNull(),
    createdAt: integer('created_at').notNull(),
    retiredAt: integer('retired_at'),
    expiresAt: integer('expires_at'),
  },
  (t) => [index('a2a_signing_keys_retired').on(t.retiredAt)],
)
