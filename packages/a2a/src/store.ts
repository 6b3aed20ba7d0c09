/** A value a store may answer at once (SQLite) or later (a database server). */
export type MaybePromise<T> = T | Promise<T>

/** An external caller's bearer token, as stored (the token itself is never kept, only its hash). */
export interface TokenRecord {
  name: string
  tokenHash: string
  /** The agents the caller may reach; undefined: every agent that opted in. */
  agents: string[] | undefined
  createdAt: number
  revokedAt: number | undefined
}

/** The task states of A2A 1.0 as stored (the JSON names without the `TASK_STATE_` prefix, lower-case). */
export type StoredTaskState =
  | 'submitted'
  | 'working'
  | 'input-required'
  | 'completed'
  | 'failed'
  | 'canceled'
  | 'rejected'

/** The states a task ends in: it never changes again (and a cleanup may remove it). */
export const FINISHED_TASK_STATES: readonly StoredTaskState[] = [
  'completed',
  'failed',
  'canceled',
  'rejected',
]

/** What {@link A2AStore.removeFinishedTasks} removed (or, on a dry run, would remove). */
export interface RemovedTasks {
  /** Finished tasks, with their events, push configs and pushes. */
  tasks: number
  /** The messages their callers sent (`a2a_caller_messages`: a retry of one is then a new message). */
  callerMessages: number
}

/** A task row. `task` is the whole A2A Task as JSON (status, history, artifacts). */
export interface TaskRecord {
  id: string
  caller: string
  agent: string
  contextId: string
  /** The spool message the task now waits on (the caller's latest turn). */
  messageId: string
  state: StoredTaskState
  task: Record<string, unknown>
  createdAt: number
  updatedAt: number
}

/** Which of a caller's tasks {@link A2AStore.listTasks} lists and {@link A2AStore.countTasks} counts. */
export interface TaskFilter {
  agent: string
  contextId?: string
  /** Only tasks in this state (ListTasks' `status`). */
  state?: StoredTaskState
  /** Only tasks whose last change (`updatedAt`) is at or after this time (ListTasks' `statusTimestampAfter`). */
  updatedFrom?: number
}

/** What {@link A2AStore.listTasks} lists: a page of at most `limit`, after the cursor `before`. */
export interface ListTasksParams extends TaskFilter {
  limit: number
  /** The last task of the previous page: list the ones after it (older, or as old with a lower id). */
  before?: { updatedAt: number; id: string }
}

/** One stored stream event of a task (an A2A `StreamResponse` as JSON), numbered from 1. */
export interface EventRecord {
  taskId: string
  seq: number
  event: Record<string, unknown>
}

/**
 * A message a caller sent (its A2A `messageId`), recorded with the turn it made: the same caller sending
 * the same id again is a retry, answered with `taskId`'s task. `digest` is the SHA-256 of what was sent.
 */
// A type, not an interface: the PostgreSQL store reads it as a row (`Record<string, unknown>`).
export type SentMessageRecord = {
  caller: string
  messageId: string
  taskId: string
  digest: string
}

/** A change of a task: its new row and the events it produced, written in one transaction. */
export interface TransitionParams {
  taskId: string
  /** The state the task must still be in (compare-and-set: another replica may have moved it first). */
  from: StoredTaskState | readonly StoredTaskState[]
  state: StoredTaskState
  task: Record<string, unknown>
  /** A new spool message the task now waits on (a continued turn). */
  messageId?: string
  /** The caller's message this change takes (a continued turn): recorded unless already sent. */
  sent?: SentMessageRecord
  events: Record<string, unknown>[]
  at: number
}

/** A push-notification config of a task, as A2A JSON (`TaskPushNotificationConfig`). */
export interface PushConfigRecord {
  taskId: string
  id: string
  config: Record<string, unknown>
}

/** An attempt to deliver a push, as {@link A2AStore.recordPush} records it. */
export interface RecordPushParams {
  id: number
  attempts: number
  /** Delivered: the push is done. */
  done: boolean
  /** When to try again (ignored when `done`). */
  nextAt: number
  error?: string
  at: number
}

/** A push due for delivery: the outbox row, its event and its config. */
export interface DuePush {
  id: number
  taskId: string
  configId: string
  seq: number
  attempts: number
  nextAt: number
  event: Record<string, unknown>
  config: Record<string, unknown>
}

/**
 * A key pair the relay signs push notifications with. The private key is stored sealed (AES-256-GCM
 * under the relay's secrets key): the database alone does not give it away.
 */
export interface SigningKeyRecord {
  /** The key id (`kid`): the RFC 7638 thumbprint of the public key. */
  kid: string
  /** The JWS algorithm (`ES256`). */
  alg: string
  /** The public key as a JWK (JSON text). */
  publicJwk: string
  /** The private key as a JWK, sealed. */
  sealedPrivateJwk: string
  createdAt: number
  /** When a newer key replaced it (it no longer signs); undefined for the current key. */
  retiredAt: number | undefined
  /** When it leaves the JWKS (its grace period's end); undefined for the current key. */
  expiresAt: number | undefined
}

/**
 * Where the A2A endpoint keeps what the spool does not: tokens, tasks and their spool messages, stream
 * events. One method per query, each answering synchronously (SQLite) or with a promise (PostgreSQL),
 * in the spool's own database.
 */
export interface A2AStore {
  /** Stores a new token; throws a `ValidationError` when `name` already has a live one. */
  insertToken(record: TokenRecord): MaybePromise<void>
  listTokens(): MaybePromise<TokenRecord[]>
  /** Marks the live token of `name` revoked; false when there was none. */
  revokeToken(name: string, at: number): MaybePromise<boolean>
  /** The live (not revoked) token with this hash. */
  tokenByHash(tokenHash: string): MaybePromise<TokenRecord | undefined>
  /**
   * Stores a new task, its first spool message, its push config if any, its first events (and their
   * pushes) and the caller's message `sent` that made it. False, writing nothing, when the caller already
   * sent a message with that id (a retry racing the first send: read it with {@link sentMessage}).
   */
  insertTask(
    record: TaskRecord,
    events: Record<string, unknown>[],
    pushConfig?: PushConfigRecord,
    sent?: SentMessageRecord,
  ): MaybePromise<boolean>
  /** The message `messageId` of `caller`, if it was sent (with the task it made or continued). */
  sentMessage(caller: string, messageId: string): MaybePromise<SentMessageRecord | undefined>
  getTask(id: string): MaybePromise<TaskRecord | undefined>
  /** The task that sent spool message `messageId`. */
  taskIdForMessage(messageId: string): MaybePromise<string | undefined>
  /**
   * Tasks waiting on the spool (submitted or working), in order of `updatedAt` then `id`: the first
   * `limit`, or the first after the task `after` (a page's last), so every open task is reached in turn.
   */
  openTasks(limit: number, after?: { updatedAt: number; id: string }): MaybePromise<TaskRecord[]>
  /** The caller's newest task in `contextId` (to continue an input-required one). */
  latestInContext(caller: string, contextId: string): MaybePromise<TaskRecord | undefined>
  /**
   * Tasks of `caller` with `agent` (in `contextId`, in `state`, changed at or after `updatedFrom`, each if
   * given), newest first: by `updatedAt` then `id`, both
   * descending (ids compared bytewise), only those strictly after `before` in that order when given.
   */
  listTasks(caller: string, params: ListTasksParams): MaybePromise<TaskRecord[]>
  /** How many tasks `listTasks` would list without `before` and `limit`. */
  countTasks(caller: string, params: TaskFilter): MaybePromise<number>
  /**
   * Applies a transition if the task is still in `from`, queuing its events' pushes; false when it was
   * not, or when its `sent` message id was already recorded for that caller (nothing written either way).
   */
  transition(params: TransitionParams): MaybePromise<boolean>
  /** Events of `taskId` after sequence number `afterSeq`, in order. */
  events(taskId: string, afterSeq: number): MaybePromise<EventRecord[]>
  /**
   * Stores (or replaces) a push config; pushes start with the task's next event. A new config is only
   * stored while the task has fewer than `limit` (checked and written in one transaction, so callers
   * racing cannot pass it); false when it was not (nothing written). Replacing one always succeeds.
   */
  savePushConfig(record: PushConfigRecord, at: number, limit: number): MaybePromise<boolean>
  pushConfigs(taskId: string): MaybePromise<PushConfigRecord[]>
  /** Deletes a push config and its undelivered pushes; false when there was none. */
  deletePushConfig(taskId: string, id: string): MaybePromise<boolean>
  /** Pushes due at `now` (not delivered, not given up), oldest first. */
  duePushes(now: number, limit: number): MaybePromise<DuePush[]>
  /**
   * Claims a due push until `until` (compare-and-set on its `nextAt`, so two replicas never both send
   * it in the same window); false when another claimed it first.
   */
  claimPush(id: number, nextAt: number, until: number): MaybePromise<boolean>
  /** Records an attempt: delivered (`done`), or failed with `error`, retried at `nextAt` or given up. */
  recordPush(params: RecordPushParams): MaybePromise<void>
  /** Every signing key, the current one (not retired) first, then the newest retired ones. */
  signingKeys(): MaybePromise<SigningKeyRecord[]>
  /**
   * Makes `record` the current signing key if the current one is still `expectedKid` (undefined: there
   * is none yet) — compare-and-set, so replicas starting or rotating at once agree on one key. The old
   * key is retired at `record.createdAt` and expires at `graceUntil`. False when another won.
   */
  replaceSigningKey(
    record: SigningKeyRecord,
    expectedKid: string | undefined,
    graceUntil: number,
  ): MaybePromise<boolean>
  /**
   * Removes the finished tasks ({@link FINISHED_TASK_STATES}) whose last change is at or before `cutoff`,
   * with all that is kept for them — the messages their callers sent, their spool message ids, events,
   * push configs and pushes — in one transaction; open tasks (submitted, working, input-required) stay
   * whatever their age. At most `limit` tasks (all when undefined), the oldest first. `dryRun` only counts.
   */
  removeFinishedTasks(params: { cutoff: number; dryRun: boolean; limit?: number }): MaybePromise<RemovedTasks>
  /** Releases what the store holds; a connection it was given stays open. */
  close(): MaybePromise<void>
}
