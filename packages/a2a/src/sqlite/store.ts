import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ValidationError } from '@agent-comm/protocol'
import { applyMigrations, hasTable, type SharedStoreOpener, toStorageError } from '@agent-comm/spool'
import type BetterSqlite3 from 'better-sqlite3'
import {
  type A2AStore,
  type DuePush,
  type DuePushRow,
  duePushFromRow,
  type EventRecord,
  eventFromRow,
  FINISHED_TASK_STATES,
  type ListTasksParams,
  liveTokenError,
  type PushConfigRecord,
  pushConfigFromRow,
  type RecordPushParams,
  type RemovedTasks,
  type SentMessageRecord,
  type SigningKeyRecord,
  type SigningKeyRow,
  signingKeyFromRow,
  type TaskFilter,
  type TaskRecord,
  type TaskRow,
  type TokenRecord,
  type TokenRow,
  type TransitionParams,
  taskFromRow,
  tokenFromRow,
} from '../store-support.js'

/** Folder of this package's drizzle-kit migrations (shipped beside `dist/`). */
export const A2A_MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle')

/** Table recording which A2A migrations a database has; apart from the spool's, registry's and relay's. */
export const A2A_MIGRATIONS_TABLE = '__agent_comm_a2a_migrations'

/** Creates or updates the A2A tables on `sqlite` (their own migrations, apart from the spool's). */
export function migrateA2A(sqlite: BetterSqlite3.Database): void {
  try {
    applyMigrations(sqlite, { folder: A2A_MIGRATIONS_FOLDER, table: A2A_MIGRATIONS_TABLE, name: 'a2a' })
  } catch (error) {
    throw toStorageError(error, sqlite.name)
  }
}

/**
 * The A2A store on the spool's SQLite file (`spool.openShared(SqliteA2AStore.shared())`: on the spool's
 * connection, which the store does not close). Every method answers synchronously; writes of one transition are one transaction.
 */
export class SqliteA2AStore implements A2AStore {
  readonly #db: BetterSqlite3.Database
  readonly #transition: BetterSqlite3.Transaction<(params: TransitionParams) => boolean>
  readonly #insertTask: BetterSqlite3.Transaction<
    (
      record: TaskRecord,
      events: Record<string, unknown>[],
      push?: PushConfigRecord,
      sent?: SentMessageRecord,
    ) => boolean
  >

  private constructor(db: BetterSqlite3.Database) {
    this.#db = db
    const appendEvents = (taskId: string, events: Record<string, unknown>[], at: number): void => {
      const last = db
        .prepare('SELECT coalesce(max(seq), 0) FROM a2a_events WHERE task_id = ?')
        .pluck()
        .get(taskId) as number
      const insert = db.prepare(
        'INSERT INTO a2a_events (task_id, seq, event, created_at) VALUES (?, ?, ?, ?)',
      )
      // The pushes of an event are written with it: a crash cannot store one without the other.
      const queue = db.prepare(
        'INSERT INTO a2a_push_outbox (task_id, config_id, seq, next_at) SELECT task_id, id, ?, ? FROM a2a_push_configs WHERE task_id = ?',
      )
      for (const [i, event] of events.entries()) {
        insert.run(taskId, last + i + 1, JSON.stringify(event), at)
        queue.run(last + i + 1, at, taskId)
      }
    }
    // The caller's message first: a retry (the same caller and message id) writes nothing else.
    const recordSent = (sent: SentMessageRecord | undefined, at: number): boolean =>
      sent === undefined ||
      db
        .prepare(
          `INSERT INTO a2a_caller_messages (caller, message_id, task_id, digest, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (caller, message_id) DO NOTHING`,
        )
        .run(sent.caller, sent.messageId, sent.taskId, sent.digest, at).changes > 0
    this.#insertTask = db.transaction(
      (
        record: TaskRecord,
        events: Record<string, unknown>[],
        push?: PushConfigRecord,
        sent?: SentMessageRecord,
      ): boolean => {
        if (!recordSent(sent, record.createdAt)) return false
        db.prepare(
          `INSERT INTO a2a_tasks (id, caller, agent, context_id, message_id, state, task, created_at, updated_at)
         VALUES (@id, @caller, @agent, @contextId, @messageId, @state, @task, @createdAt, @updatedAt)`,
        ).run({ ...record, task: JSON.stringify(record.task) })
        db.prepare('INSERT INTO a2a_task_messages (message_id, task_id) VALUES (?, ?)').run(
          record.messageId,
          record.id,
        )
        if (push !== undefined) this.#savePush(push, record.createdAt)
        appendEvents(record.id, events, record.createdAt)
        return true
      },
    )
    this.#transition = db.transaction((params: TransitionParams): boolean => {
      // IMMEDIATE: the check and the writes below hold the write lock, so no other writer comes between.
      if (params.sent !== undefined && this.sentMessage(params.sent.caller, params.sent.messageId)) {
        return false
      }
      const from = typeof params.from === 'string' ? [params.from] : [...params.from]
      const changed = db
        .prepare(
          `UPDATE a2a_tasks SET state = ?, task = ?, updated_at = ?, message_id = coalesce(?, message_id)
           WHERE id = ? AND state IN (${from.map(() => '?').join(', ')})`,
        )
        .run(
          params.state,
          JSON.stringify(params.task),
          params.at,
          params.messageId ?? null,
          params.taskId,
          ...from,
        ).changes
      if (changed === 0) return false
      recordSent(params.sent, params.at)
      if (params.messageId !== undefined) {
        db.prepare('INSERT OR IGNORE INTO a2a_task_messages (message_id, task_id) VALUES (?, ?)').run(
          params.messageId,
          params.taskId,
        )
      }
      appendEvents(params.taskId, params.events, params.at)
      return true
    })
  }

  /** Creates the A2A tables on `sqlite` if needed (the spool's connection: one file, one backup). */
  static open(sqlite: BetterSqlite3.Database): SqliteA2AStore {
    migrateA2A(sqlite)
    return new SqliteA2AStore(sqlite)
  }

  /**
   * The opener of the store in a spool's SQLite file, creating its tables if needed:
   * `spool.openShared(SqliteA2AStore.shared())`. A spool on another store is refused (`ValidationError`).
   */
  static shared(): SharedStoreOpener<SqliteA2AStore> {
    return { name: 'the A2A store', sqlite: (sqlite) => SqliteA2AStore.open(sqlite) }
  }

  /**
   * As {@link shared}, but undefined, and nothing made, when the spool's file has no A2A tables (a database
   * that is not a relay's): for cleaning a database without adding the A2A tables to it.
   */
  static sharedIfPresent(): SharedStoreOpener<SqliteA2AStore | undefined> {
    return {
      name: 'the A2A store',
      sqlite: (sqlite) => (hasTable(sqlite, 'a2a_tasks') ? SqliteA2AStore.open(sqlite) : undefined),
    }
  }

  insertToken(record: TokenRecord): void {
    this.#run(() => {
      const existing = this.#db
        .prepare('SELECT revoked_at FROM a2a_tokens WHERE name = ?')
        .get(record.name) as { revoked_at: number | null } | undefined
      if (existing !== undefined && existing.revoked_at === null) {
        throw liveTokenError(record.name)
      }
      this.#db
        .prepare(
          `INSERT INTO a2a_tokens (name, token_hash, agents, created_at, revoked_at) VALUES (?, ?, ?, ?, NULL)
           ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, agents = excluded.agents,
             created_at = excluded.created_at, revoked_at = NULL`,
        )
        .run(
          record.name,
          record.tokenHash,
          record.agents === undefined ? null : JSON.stringify(record.agents),
          record.createdAt,
        )
    })
  }

  listTokens(): TokenRecord[] {
    return this.#run(() =>
      (this.#db.prepare('SELECT * FROM a2a_tokens ORDER BY name').all() as TokenRow[]).map(tokenFromRow),
    )
  }

  revokeToken(name: string, at: number): boolean {
    return this.#run(
      () =>
        this.#db
          .prepare('UPDATE a2a_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL')
          .run(at, name).changes > 0,
    )
  }

  tokenByHash(tokenHash: string): TokenRecord | undefined {
    return this.#run(() => {
      const row = this.#db
        .prepare('SELECT * FROM a2a_tokens WHERE token_hash = ? AND revoked_at IS NULL')
        .get(tokenHash) as TokenRow | undefined
      return row === undefined ? undefined : tokenFromRow(row)
    })
  }

  insertTask(
    record: TaskRecord,
    events: Record<string, unknown>[],
    push?: PushConfigRecord,
    sent?: SentMessageRecord,
  ): boolean {
    return this.#run(() => this.#insertTask.immediate(record, events, push, sent))
  }

  sentMessage(caller: string, messageId: string): SentMessageRecord | undefined {
    return this.#run(
      () =>
        this.#db
          .prepare(
            'SELECT caller, message_id AS messageId, task_id AS taskId, digest FROM a2a_caller_messages WHERE caller = ? AND message_id = ?',
          )
          .get(caller, messageId) as SentMessageRecord | undefined,
    )
  }

  savePushConfig(record: PushConfigRecord, at: number, limit: number): boolean {
    // The write lock is taken before the count, so two writers cannot both see room.
    return this.#immediate(() => {
      const others = this.#value<number>(
        'SELECT count(*) FROM a2a_push_configs WHERE task_id = ? AND id <> ?',
        record.taskId,
        record.id,
      )
      if (others >= limit) return false
      this.#savePush(record, at)
      return true
    })
  }

  pushConfigs(taskId: string): PushConfigRecord[] {
    return this.#run(() =>
      (
        this.#db
          .prepare('SELECT id, config FROM a2a_push_configs WHERE task_id = ? ORDER BY created_at, id')
          .all(taskId) as { id: string; config: string }[]
      ).map((row) => pushConfigFromRow(taskId, row)),
    )
  }

  deletePushConfig(taskId: string, id: string): boolean {
    return this.#immediate(() => {
      this.#db
        .prepare('DELETE FROM a2a_push_outbox WHERE task_id = ? AND config_id = ? AND done_at IS NULL')
        .run(taskId, id)
      return (
        this.#db.prepare('DELETE FROM a2a_push_configs WHERE task_id = ? AND id = ?').run(taskId, id)
          .changes > 0
      )
    })
  }

  duePushes(now: number, limit: number): DuePush[] {
    return this.#run(() =>
      (
        this.#db
          .prepare(
            `SELECT o.id, o.task_id, o.config_id, o.seq, o.attempts, o.next_at, e.event, c.config
             FROM a2a_push_outbox o
             JOIN a2a_events e ON e.task_id = o.task_id AND e.seq = o.seq
             JOIN a2a_push_configs c ON c.task_id = o.task_id AND c.id = o.config_id
             WHERE o.done_at IS NULL AND o.next_at <= ?
               -- In order per webhook: a push waits while an earlier one to the same config is pending.
               AND NOT EXISTS (SELECT 1 FROM a2a_push_outbox p WHERE p.task_id = o.task_id
                 AND p.config_id = o.config_id AND p.done_at IS NULL AND p.seq < o.seq)
             ORDER BY o.id LIMIT ?`,
          )
          .all(now, limit) as DuePushRow[]
      ).map(duePushFromRow),
    )
  }

  claimPush(id: number, nextAt: number, until: number): boolean {
    return this.#run(
      () =>
        this.#db
          .prepare('UPDATE a2a_push_outbox SET next_at = ? WHERE id = ? AND next_at = ? AND done_at IS NULL')
          .run(until, id, nextAt).changes > 0,
    )
  }

  recordPush(params: RecordPushParams): void {
    this.#run(() =>
      this.#db
        .prepare(
          'UPDATE a2a_push_outbox SET attempts = ?, next_at = ?, last_error = ?, done_at = ? WHERE id = ?',
        )
        .run(params.attempts, params.nextAt, params.error ?? null, params.done ? params.at : null, params.id),
    )
  }

  #savePush(record: PushConfigRecord, at: number): void {
    this.#db
      .prepare(
        `INSERT INTO a2a_push_configs (task_id, id, config, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (task_id, id) DO UPDATE SET config = excluded.config`,
      )
      .run(record.taskId, record.id, JSON.stringify(record.config), at)
  }

  getTask(id: string): TaskRecord | undefined {
    return this.#run(() => {
      const row = this.#db.prepare('SELECT * FROM a2a_tasks WHERE id = ?').get(id) as TaskRow | undefined
      return row === undefined ? undefined : taskFromRow(row)
    })
  }

  taskIdForMessage(messageId: string): string | undefined {
    return this.#run(() =>
      this.#value<string | undefined>(
        'SELECT task_id FROM a2a_task_messages WHERE message_id = ?',
        messageId,
      ),
    )
  }

  openTasks(limit: number, after?: { updatedAt: number; id: string }): TaskRecord[] {
    return this.#run(() =>
      (
        this.#db
          .prepare(
            `SELECT * FROM a2a_tasks WHERE state IN ('submitted', 'working') AND (updated_at > @at OR (updated_at = @at AND id > @id))
             ORDER BY updated_at, id LIMIT @limit`,
          )
          .all({ at: after?.updatedAt ?? Number.MIN_SAFE_INTEGER, id: after?.id ?? '', limit }) as TaskRow[]
      ).map(taskFromRow),
    )
  }

  latestInContext(caller: string, contextId: string): TaskRecord | undefined {
    return this.#run(() => {
      const row = this.#db
        .prepare(
          'SELECT * FROM a2a_tasks WHERE caller = ? AND context_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1',
        )
        .get(caller, contextId) as TaskRow | undefined
      return row === undefined ? undefined : taskFromRow(row)
    })
  }

  listTasks(caller: string, params: ListTasksParams): TaskRecord[] {
    const { where, values } = taskFilter(caller, params)
    // The cursor (updated_at, id) is unique and the order total, so a page never repeats or skips a task
    // that did not change meanwhile. SQLite compares TEXT bytewise, as PostgreSQL's COLLATE "C". The row
    // value is a range on the index a2a_tasks_list (caller, agent, updated_at, id): a page is read from
    // the cursor on, however deep.
    if (params.before !== undefined) where.push('(updated_at, id) < (@at, @id)')
    return this.#run(() =>
      (
        this.#db
          .prepare(
            `SELECT * FROM a2a_tasks WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, id DESC LIMIT @limit`,
          )
          .all({
            ...values,
            ...(params.before === undefined ? {} : { at: params.before.updatedAt, id: params.before.id }),
            limit: params.limit,
          }) as TaskRow[]
      ).map(taskFromRow),
    )
  }

  countTasks(caller: string, params: TaskFilter): number {
    const { where, values } = taskFilter(caller, params)
    return this.#run(() =>
      this.#value<number>(`SELECT count(*) FROM a2a_tasks WHERE ${where.join(' AND ')}`, values),
    )
  }

  removeFinishedTasks(params: { cutoff: number; dryRun: boolean; limit?: number }): RemovedTasks {
    // The same tasks for every statement below: nothing else changes them inside the transaction.
    const finished = `SELECT id FROM a2a_tasks WHERE state IN (${FINISHED_TASK_STATES.map(() => '?').join(', ')}) AND updated_at <= ?
      ORDER BY updated_at, id LIMIT ?`
    const values = [...FINISHED_TASK_STATES, params.cutoff, params.limit ?? -1]
    const remove = this.#db.transaction((): RemovedTasks => {
      const count = (sql: string): number => this.#db.prepare(sql).pluck().get(values) as number
      const removed = {
        tasks: count(`SELECT count(*) FROM (${finished})`),
        callerMessages: count(`SELECT count(*) FROM a2a_caller_messages WHERE task_id IN (${finished})`),
      }
      if (params.dryRun) return removed
      // Everything kept for a task goes with it; a finished task never changes, so nothing races this.
      for (const table of [
        'a2a_caller_messages',
        'a2a_task_messages',
        'a2a_events',
        'a2a_push_outbox',
        'a2a_push_configs',
      ])
        this.#db.prepare(`DELETE FROM ${table} WHERE task_id IN (${finished})`).run(values)
      this.#db.prepare(`DELETE FROM a2a_tasks WHERE id IN (${finished})`).run(values)
      return removed
    })
    return this.#run(() => remove.immediate())
  }

  transition(params: TransitionParams): boolean {
    return this.#run(() => this.#transition.immediate(params))
  }

  events(taskId: string, afterSeq: number): EventRecord[] {
    return this.#run(() =>
      (
        this.#db
          .prepare('SELECT seq, event FROM a2a_events WHERE task_id = ? AND seq > ? ORDER BY seq')
          .all(taskId, afterSeq) as { seq: number; event: string }[]
      ).map((row) => eventFromRow(taskId, row)),
    )
  }

  signingKeys(): SigningKeyRecord[] {
    return this.#run(() =>
      (
        this.#db
          .prepare(
            'SELECT * FROM a2a_signing_keys ORDER BY retired_at IS NOT NULL, retired_at DESC, created_at DESC',
          )
          .all() as SigningKeyRow[]
      ).map(signingKeyFromRow),
    )
  }

  replaceSigningKey(record: SigningKeyRecord, expectedKid: string | undefined, graceUntil: number): boolean {
    // The write lock is taken before the read, so two processes cannot both see no key.
    return this.#immediate(() => {
      const current = this.#value<string | undefined>(
        'SELECT kid FROM a2a_signing_keys WHERE retired_at IS NULL',
      )
      if (current !== expectedKid) return false
      this.#db
        .prepare('UPDATE a2a_signing_keys SET retired_at = ?, expires_at = ? WHERE retired_at IS NULL')
        .run(record.createdAt, graceUntil)
      this.#db
        .prepare(
          `INSERT INTO a2a_signing_keys (kid, alg, public_jwk, sealed_private_jwk, created_at, retired_at, expires_at)
           VALUES (?, ?, ?, ?, ?, NULL, NULL)`,
        )
        .run(record.kid, record.alg, record.publicJwk, record.sealedPrivateJwk, record.createdAt)
      // Keys past their grace period are of no use to anyone: removed with the rotation that follows.
      this.#db
        .prepare('DELETE FROM a2a_signing_keys WHERE expires_at IS NOT NULL AND expires_at < ?')
        .run(record.createdAt)
      return true
    })
  }

  close(): void {}

  /**
   * `fn` in one IMMEDIATE transaction: the write lock is taken before its first read, so what it reads
   * stays true until it commits (two writers cannot both see room, or both see no key).
   */
  #immediate<T>(fn: () => T): T {
    return this.#run(() => this.#db.transaction(fn).immediate())
  }

  /** The first column of the first row `sql` reads (undefined when it reads none). */
  #value<T>(sql: string, ...params: unknown[]): T {
    return this.#db
      .prepare(sql)
      .pluck()
      .get(...params) as T
  }

  #run<T>(fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      if (error instanceof ValidationError) throw error
      throw toStorageError(error, this.#db.name)
    }
  }
}

/**
 * The conditions of a task list (ListTasks) and their named values. Only the filters given are written,
 * so each query is one SQLite can answer from the index a2a_tasks_list (`x IS NULL OR …` would not be).
 */
function taskFilter(
  caller: string,
  filter: TaskFilter,
): { where: string[]; values: Record<string, string | number> } {
  const where = ['caller = @caller', 'agent = @agent']
  const values: Record<string, string | number> = { caller, agent: filter.agent }
  const add = (condition: string, name: string, value: string | number): void => {
    where.push(condition)
    values[name] = value
  }
  if (filter.contextId !== undefined) add('context_id = @contextId', 'contextId', filter.contextId)
  if (filter.state !== undefined) add('state = @state', 'state', filter.state)
  if (filter.updatedFrom !== undefined) add('updated_at >= @updatedFrom', 'updatedFrom', filter.updatedFrom)
  return { where, values }
}
