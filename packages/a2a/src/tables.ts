import { describeTable } from '@agent-comm/spool/table-description'

// The A2A endpoint's tables, described once: the SQLite store builds them with `sqliteTableOf`
// (`src/sqlite/schema.ts`), the PostgreSQL store of `@agent-comm/postgres/a2a` with `pgTableOf`, in the
// spool's schema. Times are `epochMs` (ms since the epoch).

/**
 * Bearer tokens of external A2A callers. Only the SHA-256 of a token is kept: a leaked database does not
 * leak working credentials. `agents` is a JSON array of the agents the caller may reach, or NULL for all
 * agents that opted in.
 */
const tokens = describeTable({
  name: 'a2a_tokens',
  columns: {
    name: { name: 'name', kind: 'text', primaryKey: true },
    tokenHash: { name: 'token_hash', kind: 'text', notNull: true, unique: true },
    agents: { name: 'agents', kind: 'text' },
    createdAt: { name: 'created_at', kind: 'epochMs', notNull: true },
    revokedAt: { name: 'revoked_at', kind: 'epochMs' },
  },
})

/**
 * A2A tasks: who asked (`caller`, the token's name), which agent answers, the context, the spool message
 * the task now waits on, and the task as A2A JSON (status, history, artifacts). The spool holds the
 * delivery; this row holds what the spool does not (the A2A view, cancellation).
 */
const tasks = describeTable({
  name: 'a2a_tasks',
  columns: {
    // Paged bytewise (ListTasks' cursor), in the same order on both dialects.
    id: { name: 'id', kind: 'text', primaryKey: true, bytewise: true },
    caller: { name: 'caller', kind: 'text', notNull: true },
    agent: { name: 'agent', kind: 'text', notNull: true },
    contextId: { name: 'context_id', kind: 'text', notNull: true },
    messageId: { name: 'message_id', kind: 'text', notNull: true },
    state: { name: 'state', kind: 'text', notNull: true },
    task: { name: 'task', kind: 'text', notNull: true },
    createdAt: { name: 'created_at', kind: 'epochMs', notNull: true },
    updatedAt: { name: 'updated_at', kind: 'epochMs', notNull: true },
  },
  indexes: {
    a2a_tasks_state: ['state'],
    a2a_tasks_context: ['caller', 'contextId'],
    // ListTasks: a caller's tasks with an agent, newest first by (updated_at, id), a page after a cursor:
    // read in index order from the cursor on, not sorted from every task of the caller.
    a2a_tasks_list: ['caller', 'agent', 'updatedAt', 'id'],
  },
})

/** Every spool message a task sent (one per turn): a reply names one of them in `replyTo`. */
const taskMessages = describeTable({
  name: 'a2a_task_messages',
  columns: {
    messageId: { name: 'message_id', kind: 'text', primaryKey: true },
    taskId: { name: 'task_id', kind: 'text', notNull: true },
  },
})

/**
 * The messages each caller sent (its A2A `messageId`, one row per turn), so a message sent again — a
 * client's retry after a timeout — answers with the task the first one made instead of making another.
 * The primary key is the unique index (caller, message id); `digest` is the SHA-256 of what was sent
 * (agent and message), so the same id with other content is told apart from a retry and refused.
 */
const callerMessages = describeTable({
  name: 'a2a_caller_messages',
  columns: {
    caller: { name: 'caller', kind: 'text', notNull: true },
    messageId: { name: 'message_id', kind: 'text', notNull: true },
    taskId: { name: 'task_id', kind: 'text', notNull: true },
    digest: { name: 'digest', kind: 'text', notNull: true },
    createdAt: { name: 'created_at', kind: 'epochMs', notNull: true },
  },
  primaryKey: ['caller', 'messageId'],
})

/**
 * Each task's stream events (A2A `StreamResponse` JSON) in order: a stream that reconnects, on this
 * relay or another replica, replays them from the sequence number it last saw.
 */
const events = describeTable({
  name: 'a2a_events',
  columns: {
    taskId: { name: 'task_id', kind: 'text', notNull: true },
    seq: { name: 'seq', kind: 'integer', notNull: true },
    event: { name: 'event', kind: 'text', notNull: true },
    createdAt: { name: 'created_at', kind: 'epochMs', notNull: true },
  },
  primaryKey: ['taskId', 'seq'],
})

/** Push-notification configs of tasks (A2A `TaskPushNotificationConfig` JSON), per task and config id. */
const pushConfigs = describeTable({
  name: 'a2a_push_configs',
  columns: {
    taskId: { name: 'task_id', kind: 'text', notNull: true },
    id: { name: 'id', kind: 'text', notNull: true },
    config: { name: 'config', kind: 'text', notNull: true },
    createdAt: { name: 'created_at', kind: 'epochMs', notNull: true },
  },
  primaryKey: ['taskId', 'id'],
})

/**
 * The push outbox: one row per event and config, written in the transaction that stores the event, so
 * no event is stored without its pushes. A row is due at `next_at`; it is retried with backoff until
 * delivered or out of attempts (`done_at` set either way, `last_error` says why it gave up).
 */
const pushOutbox = describeTable({
  name: 'a2a_push_outbox',
  columns: {
    id: { name: 'id', kind: 'serial' },
    taskId: { name: 'task_id', kind: 'text', notNull: true },
    configId: { name: 'config_id', kind: 'text', notNull: true },
    seq: { name: 'seq', kind: 'integer', notNull: true },
    attempts: { name: 'attempts', kind: 'integer', notNull: true, default: 0 },
    nextAt: { name: 'next_at', kind: 'epochMs', notNull: true },
    lastError: { name: 'last_error', kind: 'text' },
    doneAt: { name: 'done_at', kind: 'epochMs' },
  },
  indexes: { a2a_push_outbox_due: ['doneAt', 'nextAt'] },
})

/**
 * The key pairs push notifications are signed with (JWS, ES256): the current one (`retired_at` NULL)
 * signs, retired ones stay in the JWKS until `expires_at`. The private key is sealed under the relay's
 * secrets key (AES-256-GCM); every replica reads the same pair.
 */
const signingKeys = describeTable({
  name: 'a2a_signing_keys',
  columns: {
    kid: { name: 'kid', kind: 'text', primaryKey: true },
    alg: { name: 'alg', kind: 'text', notNull: true },
    publicJwk: { name: 'public_jwk', kind: 'text', notNull: true },
    sealedPrivateJwk: { name: 'sealed_private_jwk', kind: 'text', notNull: true },
    createdAt: { name: 'created_at', kind: 'epochMs', notNull: true },
    retiredAt: { name: 'retired_at', kind: 'epochMs' },
    expiresAt: { name: 'expires_at', kind: 'epochMs' },
  },
  indexes: { a2a_signing_keys_retired: ['retiredAt'] },
})

/** The A2A endpoint's tables, described once for both dialects. */
export const a2aTables = {
  tokens,
  tasks,
  taskMessages,
  callerMessages,
  events,
  pushConfigs,
  pushOutbox,
  signingKeys,
}
