import * as A2A from '@agent-comm/a2a/store'
import type { Logger } from '@agent-comm/protocol'
import type { SqlClient, SqlQueryable } from './client.js'
import { connectFromUrl } from './connect.js'
import { toStorageError, withStorageErrors } from './drivers/driver-errors.js'
import { applyPostgresMigrations, validateSchemaName } from './migrate.js'
import { SqlParams } from './sql-params.js'

/** Thrown inside a transaction to roll back what it wrote: its result is then `false` (nothing written). */
const NOT_MOVED = new Error('a2a transition did not apply')

/** What a {@link PostgresA2AStore} is built from. */
export interface PostgresA2AStoreOptions {
  /** The client of the spool's pool (the store never ends it). */
  client: SqlClient
  /** The spool's schema (default `agent_comm`): the A2A tables sit beside the spool's. */
  schema?: string
  /** Where the data is, safe to show (the URL without its password). */
  location?: string
}

/**
 * The A2A store on PostgreSQL, in the spool's schema, with the SQLite store's semantics: a transition is
 * a compare-and-set on the task's state whose row lock also serialises its event numbering, and the
 * events and their pushes are written in that transaction, so every replica reads the same history.
 */
export class PostgresA2AStore implements A2A.A2AStore {
  readonly #client: SqlClient
  readonly #s: string
  readonly #location: string
  readonly #ownsClient: boolean

  private constructor(client: SqlClient, schema: string, location: string, ownsClient = false) {
    this.#client = client
    this.#s = `"${schema}"`
    this.#location = location
    this.#ownsClient = ownsClient
  }

  /**
   * Connects to `url` with a small pool of its own (closed by `close()`), creates the A2A tables in
   * `schema` (the spool's, default `agent_comm`) and opens the store: what a relay replica on PostgreSQL
   * mounts its A2A endpoint on.
   */
  static async connect(options: {
    url: string
    schema?: string
    poolSize?: number
    logger?: Logger
  }): Promise<PostgresA2AStore> {
    const { client, location } = connectFromUrl({
      url: options.url,
      poolSize: options.poolSize ?? 4,
      logger: options.logger,
    })
    try {
      const schema = options.schema ?? 'agent_comm'
      await PostgresA2AStore.open({ client, location, schema })
      return new PostgresA2AStore(client, validateSchemaName(schema), location, true)
    } catch (error) {
      await client.end()
      throw error
    }
  }

  /**
   * Applies the schema's migrations (the A2A tables are among them: `0006_a2a`, which also adopts the
   * tables earlier versions made by hand) and opens the store.
   */
  static async open(options: PostgresA2AStoreOptions): Promise<PostgresA2AStore> {
    const schema = validateSchemaName(options.schema ?? 'agent_comm')
    const location = options.location ?? 'postgres'
    try {
      await applyPostgresMigrations(options.client, schema)
    } catch (error) {
      throw toStorageError(error, location)
    }
    return new PostgresA2AStore(options.client, schema, location)
  }

  async insertToken(record: A2A.TokenRecord): Promise<void> {
    await this.#tx(async (tx) => {
      const [existing] = await tx.query<{ revoked_at: string | null }>(
        `SELECT revoked_at FROM ${this.#s}.a2a_tokens WHERE name = $1 FOR UPDATE`,
        [record.name],
      )
      if (existing !== undefined && existing.revoked_at === null) {
        throw A2A.liveTokenError(record.name)
      }
      await tx.query(
        `INSERT INTO ${this.#s}.a2a_tokens (name, token_hash, agents, created_at, revoked_at) VALUES ($1, $2, $3, $4, NULL)
         ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, agents = excluded.agents,
           created_at = excluded.created_at, revoked_at = NULL`,
        [
          record.name,
          record.tokenHash,
          record.agents === undefined ? null : JSON.stringify(record.agents),
          record.createdAt,
        ],
      )
    })
  }

  async listTokens(): Promise<A2A.TokenRecord[]> {
    return (await this.#query<A2A.TokenRow>(`SELECT * FROM ${this.#s}.a2a_tokens ORDER BY name`)).map(
      A2A.tokenFromRow,
    )
  }

  async revokeToken(name: string, at: number): Promise<boolean> {
    const rows = await this.#query(
      `UPDATE ${this.#s}.a2a_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING name`,
      [at, name],
    )
    return rows.length > 0
  }

  async tokenByHash(tokenHash: string): Promise<A2A.TokenRecord | undefined> {
    const [row] = await this.#query<A2A.TokenRow>(
      `SELECT * FROM ${this.#s}.a2a_tokens WHERE token_hash = $1 AND revoked_at IS NULL`,
      [tokenHash],
    )
    return row === undefined ? undefined : A2A.tokenFromRow(row)
  }

  async insertTask(
    record: A2A.TaskRecord,
    events: Record<string, unknown>[],
    push?: A2A.PushConfigRecord,
    sent?: A2A.SentMessageRecord,
  ): Promise<boolean> {
    return this.#tx(async (tx) => {
      // The caller's message first: a retry (the same caller and message id) writes nothing else. One
      // racing the first send waits here for it to commit, then finds its row.
      if (!(await this.#recordSent(tx, sent, record.createdAt))) return false
      await tx.query(
        `INSERT INTO ${this.#s}.a2a_tasks (id, caller, agent, context_id, message_id, state, task, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          record.id,
          record.caller,
          record.agent,
          record.contextId,
          record.messageId,
          record.state,
          JSON.stringify(record.task),
          record.createdAt,
          record.updatedAt,
        ],
      )
      await tx.query(`INSERT INTO ${this.#s}.a2a_task_messages (message_id, task_id) VALUES ($1, $2)`, [
        record.messageId,
        record.id,
      ])
      if (push !== undefined) await this.#savePush(tx, push, record.createdAt)
      await this.#appendEvents(tx, record.id, events, record.createdAt)
      return true
    })
  }

  async sentMessage(caller: string, messageId: string): Promise<A2A.SentMessageRecord | undefined> {
    const [row] = await this.#query<A2A.SentMessageRecord>(
      `SELECT caller, message_id AS "messageId", task_id AS "taskId", digest FROM ${this.#s}.a2a_caller_messages
       WHERE caller = $1 AND message_id = $2`,
      [caller, messageId],
    )
    return row
  }

  /** Records the caller's message `sent` (nothing to record: true); false when that id was already sent. */
  async #recordSent(tx: SqlQueryable, sent: A2A.SentMessageRecord | undefined, at: number): Promise<boolean> {
    if (sent === undefined) return true
    const inserted = await tx.query(
      `INSERT INTO ${this.#s}.a2a_caller_messages (caller, message_id, task_id, digest, created_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (caller, message_id) DO NOTHING RETURNING task_id`,
      [sent.caller, sent.messageId, sent.taskId, sent.digest, at],
    )
    return inserted.length > 0
  }

  async getTask(id: string): Promise<A2A.TaskRecord | undefined> {
    const [row] = await this.#query<A2A.TaskRow>(`SELECT * FROM ${this.#s}.a2a_tasks WHERE id = $1`, [id])
    return row === undefined ? undefined : A2A.taskFromRow(row)
  }

  async taskIdForMessage(messageId: string): Promise<string | undefined> {
    const [row] = await this.#query<{ task_id: string }>(
      `SELECT task_id FROM ${this.#s}.a2a_task_messages WHERE message_id = $1`,
      [messageId],
    )
    return row?.task_id
  }

  async openTasks(limit: number, after?: { updatedAt: number; id: string }): Promise<A2A.TaskRecord[]> {
    return (
      await this.#query<A2A.TaskRow>(
        `SELECT * FROM ${this.#s}.a2a_tasks WHERE state IN ('submitted', 'working')
           AND (updated_at > $2::bigint OR (updated_at = $2::bigint AND id COLLATE "C" > $3::text))
         ORDER BY updated_at, id COLLATE "C" LIMIT $1`,
        [limit, after?.updatedAt ?? Number.MIN_SAFE_INTEGER, after?.id ?? ''],
      )
    ).map(A2A.taskFromRow)
  }

  async latestInContext(caller: string, contextId: string): Promise<A2A.TaskRecord | undefined> {
    const [row] = await this.#query<A2A.TaskRow>(
      `SELECT * FROM ${this.#s}.a2a_tasks WHERE caller = $1 AND context_id = $2 ORDER BY created_at DESC, position DESC LIMIT 1`,
      [caller, contextId],
    )
    return row === undefined ? undefined : A2A.taskFromRow(row)
  }

  async listTasks(caller: string, params: A2A.ListTasksParams): Promise<A2A.TaskRecord[]> {
    const { where, bound } = taskFilter(caller, params)
    // Ids compared bytewise (COLLATE "C"), as SQLite does: both stores page in the same order. The row
    // comparison is a range on the index a2a_tasks_list (caller, agent, updated_at, id COLLATE "C"), so a
    // page is read from the cursor on, however deep.
    if (params.before !== undefined) {
      const { updatedAt, id } = params.before
      where.push(`(updated_at, id COLLATE "C") < (${bound.add(updatedAt)}::bigint, ${bound.add(id)}::text)`)
    }
    const rows = await this.#query<A2A.TaskRow>(
      `SELECT * FROM ${this.#s}.a2a_tasks WHERE ${where.join(' AND ')}
       ORDER BY updated_at DESC, id COLLATE "C" DESC LIMIT ${bound.add(params.limit)}`,
      bound.values,
    )
    return rows.map(A2A.taskFromRow)
  }

  async countTasks(caller: string, params: A2A.TaskFilter): Promise<number> {
    const { where, bound } = taskFilter(caller, params)
    const [row] = await this.#query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.#s}.a2a_tasks WHERE ${where.join(' AND ')}`,
      bound.values,
    )
    return Number(row?.n ?? 0)
  }

  async removeFinishedTasks(params: {
    cutoff: number
    dryRun: boolean
    limit?: number
  }): Promise<A2A.RemovedTasks> {
    const values = [[...A2A.FINISHED_TASK_STATES], params.cutoff, params.limit ?? null]
    // LIMIT NULL is no limit.
    const finished = `SELECT id FROM ${this.#s}.a2a_tasks WHERE state = ANY($1::text[]) AND updated_at <= $2::bigint
      ORDER BY updated_at, id LIMIT $3::bigint`
    if (params.dryRun) {
      const [row] = await this.#query<{ tasks: string; caller_messages: string }>(
        `SELECT (SELECT count(*) FROM (${finished}) f) AS tasks,
           (SELECT count(*) FROM ${this.#s}.a2a_caller_messages WHERE task_id IN (${finished})) AS caller_messages`,
        values,
      )
      return { tasks: Number(row?.tasks ?? 0), callerMessages: Number(row?.caller_messages ?? 0) }
    }
    // One statement, so one transaction: everything kept for a task goes with it. A finished task never
    // changes, so no transition races the delete.
    const kept = ['a2a_task_messages', 'a2a_events', 'a2a_push_outbox', 'a2a_push_configs']
    const [row] = await this.#query<{ tasks: string; caller_messages: string }>(
      `WITH gone AS (DELETE FROM ${this.#s}.a2a_tasks WHERE id IN (${finished}) RETURNING id),
         sent AS (DELETE FROM ${this.#s}.a2a_caller_messages WHERE task_id IN (SELECT id FROM gone) RETURNING 1),
         ${kept.map((table) => `${table} AS (DELETE FROM ${this.#s}.${table} WHERE task_id IN (SELECT id FROM gone))`).join(',\n         ')}
       SELECT (SELECT count(*) FROM gone) AS tasks, (SELECT count(*) FROM sent) AS caller_messages`,
      values,
    )
    return { tasks: Number(row?.tasks ?? 0), callerMessages: Number(row?.caller_messages ?? 0) }
  }

  async transition(params: A2A.TransitionParams): Promise<boolean> {
    const from: A2A.StoredTaskState[] = typeof params.from === 'string' ? [params.from] : [...params.from]
    return this.#tx(async (tx) => {
      // The caller's message first (a retry writes nothing); rolled back below if the state moved meanwhile.
      if (!(await this.#recordSent(tx, params.sent, params.at))) return false
      // The UPDATE takes the task's row lock: concurrent transitions of one task (two replicas) queue here,
      // and the loser finds the state changed and writes nothing.
      const moved = await tx.query(
        `UPDATE ${this.#s}.a2a_tasks SET state = $1, task = $2, updated_at = $3, message_id = coalesce($4, message_id)
         WHERE id = $5 AND state = ANY($6::text[]) RETURNING id`,
        [params.state, JSON.stringify(params.task), params.at, params.messageId ?? null, params.taskId, from],
      )
      if (moved.length === 0) {
        if (params.sent !== undefined) throw NOT_MOVED
        return false
      }
      if (params.messageId !== undefined) {
        await tx.query(
          `INSERT INTO ${this.#s}.a2a_task_messages (message_id, task_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          [params.messageId, params.taskId],
        )
      }
      await this.#appendEvents(tx, params.taskId, params.events, params.at)
      return true
    })
  }

  async events(taskId: string, afterSeq: number): Promise<A2A.EventRecord[]> {
    const rows = await this.#query<{ seq: number; event: string }>(
      `SELECT seq, event FROM ${this.#s}.a2a_events WHERE task_id = $1 AND seq > $2::bigint ORDER BY seq`,
      [taskId, afterSeq],
    )
    return rows.map((row) => A2A.eventFromRow(taskId, row))
  }

  async savePushConfig(record: A2A.PushConfigRecord, at: number, limit: number): Promise<boolean> {
    return this.#tx(async (tx) => {
      // The task row is locked first: two callers adding configs to one task count one after the other.
      await tx.query(`SELECT 1 FROM ${this.#s}.a2a_tasks WHERE id = $1 FOR UPDATE`, [record.taskId])
      const [row] = await tx.query<{ others: number | string }>(
        `SELECT count(*) AS others FROM ${this.#s}.a2a_push_configs WHERE task_id = $1 AND id <> $2`,
        [record.taskId, record.id],
      )
      if (Number(row?.others ?? 0) >= limit) return false
      await this.#savePush(tx, record, at)
      return true
    })
  }

  async pushConfigs(taskId: string): Promise<A2A.PushConfigRecord[]> {
    const rows = await this.#query<{ id: string; config: string }>(
      `SELECT id, config FROM ${this.#s}.a2a_push_configs WHERE task_id = $1 ORDER BY created_at, id`,
      [taskId],
    )
    return rows.map((row) => A2A.pushConfigFromRow(taskId, row))
  }

  async deletePushConfig(taskId: string, id: string): Promise<boolean> {
    return this.#tx(async (tx) => {
      await tx.query(
        `DELETE FROM ${this.#s}.a2a_push_outbox WHERE task_id = $1 AND config_id = $2 AND done_at IS NULL`,
        [taskId, id],
      )
      const rows = await tx.query(
        `DELETE FROM ${this.#s}.a2a_push_configs WHERE task_id = $1 AND id = $2 RETURNING id`,
        [taskId, id],
      )
      return rows.length > 0
    })
  }

  async duePushes(now: number, limit: number): Promise<A2A.DuePush[]> {
    const rows = await this.#query<A2A.DuePushRow & Record<string, unknown>>(
      `SELECT o.id, o.task_id, o.config_id, o.seq, o.attempts, o.next_at, e.event, c.config
       FROM ${this.#s}.a2a_push_outbox o
       JOIN ${this.#s}.a2a_events e ON e.task_id = o.task_id AND e.seq = o.seq
       JOIN ${this.#s}.a2a_push_configs c ON c.task_id = o.task_id AND c.id = o.config_id
       WHERE o.done_at IS NULL AND o.next_at <= $1
         AND NOT EXISTS (SELECT 1 FROM ${this.#s}.a2a_push_outbox p WHERE p.task_id = o.task_id
           AND p.config_id = o.config_id AND p.done_at IS NULL AND p.seq < o.seq)
       ORDER BY o.id LIMIT $2`,
      [now, limit],
    )
    return rows.map(A2A.duePushFromRow)
  }

  async claimPush(id: number, nextAt: number, until: number): Promise<boolean> {
    const rows = await this.#query(
      `UPDATE ${this.#s}.a2a_push_outbox SET next_at = $1 WHERE id = $2 AND next_at = $3 AND done_at IS NULL RETURNING id`,
      [until, id, nextAt],
    )
    return rows.length > 0
  }

  async recordPush(params: A2A.RecordPushParams): Promise<void> {
    await this.#query(
      `UPDATE ${this.#s}.a2a_push_outbox SET attempts = $1, next_at = $2, last_error = $3, done_at = $4 WHERE id = $5`,
      [params.attempts, params.nextAt, params.error ?? null, params.done ? params.at : null, params.id],
    )
  }

  async signingKeys(): Promise<A2A.SigningKeyRecord[]> {
    const rows = await this.#query<A2A.SigningKeyRow>(
      `SELECT * FROM ${this.#s}.a2a_signing_keys ORDER BY retired_at IS NOT NULL, retired_at DESC, created_at DESC`,
    )
    return rows.map(A2A.signingKeyFromRow)
  }

  async replaceSigningKey(
    record: A2A.SigningKeyRecord,
    expectedKid: string | undefined,
    graceUntil: number,
  ): Promise<boolean> {
    return this.#tx(async (tx) => {
      // Replicas starting (or rotating) at once queue here: the first replaces the key, the others find
      // it changed and use the winner's. A row lock cannot serve, there may be no row yet.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`agent_comm.a2a.signing.${this.#s}`])
      const [current] = await tx.query<{ kid: string }>(
        `SELECT kid FROM ${this.#s}.a2a_signing_keys WHERE retired_at IS NULL`,
      )
      if (current?.kid !== expectedKid) return false
      await tx.query(
        `UPDATE ${this.#s}.a2a_signing_keys SET retired_at = $1, expires_at = $2 WHERE retired_at IS NULL`,
        [record.createdAt, graceUntil],
      )
      await tx.query(
        `INSERT INTO ${this.#s}.a2a_signing_keys (kid, alg, public_jwk, sealed_private_jwk, created_at, retired_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, NULL, NULL)`,
        [record.kid, record.alg, record.publicJwk, record.sealedPrivateJwk, record.createdAt],
      )
      // Keys past their grace period are of no use to anyone: removed with the rotation that follows.
      await tx.query(
        `DELETE FROM ${this.#s}.a2a_signing_keys WHERE expires_at IS NOT NULL AND expires_at < $1`,
        [record.createdAt],
      )
      return true
    })
  }

  /** Ends the pool if {@link PostgresA2AStore.connect} made it; a client given to `open` stays open. */
  async close(): Promise<void> {
    if (this.#ownsClient) await this.#client.end()
  }

  async #appendEvents(
    tx: SqlQueryable,
    taskId: string,
    events: Record<string, unknown>[],
    at: number,
  ): Promise<void> {
    if (events.length === 0) return
    const [row] = await tx.query<{ last: number | string }>(
      `SELECT coalesce(max(seq), 0) AS last FROM ${this.#s}.a2a_events WHERE task_id = $1`,
      [taskId],
    )
    const last = Number(row?.last ?? 0)
    for (const [i, event] of events.entries()) {
      await tx.query(
        `INSERT INTO ${this.#s}.a2a_events (task_id, seq, event, created_at) VALUES ($1, $2, $3, $4)`,
        [taskId, last + i + 1, JSON.stringify(event), at],
      )
      // The pushes of an event are written with it: a crash cannot store one without the other.
      await tx.query(
        `INSERT INTO ${this.#s}.a2a_push_outbox (task_id, config_id, seq, next_at)
         SELECT task_id, id, $1, $2 FROM ${this.#s}.a2a_push_configs WHERE task_id = $3`,
        [last + i + 1, at, taskId],
      )
    }
  }

  async #savePush(tx: SqlQueryable, record: A2A.PushConfigRecord, at: number): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.#s}.a2a_push_configs (task_id, id, config, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (task_id, id) DO UPDATE SET config = excluded.config`,
      [record.taskId, record.id, JSON.stringify(record.config), at],
    )
  }

  #query<R extends Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]> {
    return withStorageErrors(this.#location, () => this.#client.query<R>(text, params))
  }

  #tx<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T | false> {
    // A ValidationError thrown inside (a live token) passes through as it is; NOT_MOVED rolls back.
    return withStorageErrors(this.#location, () =>
      this.#client.transaction(fn).catch((error: unknown) => {
        if (error === NOT_MOVED) return false as const
        throw error
      }),
    )
  }
}

/**
 * The conditions of a task list (ListTasks) and their values ($1…). Only the filters given are written:
 * a generic plan of `$n IS NULL OR …` could not use the index a2a_tasks_list.
 */
function taskFilter(caller: string, filter: A2A.TaskFilter): { where: string[]; bound: SqlParams } {
  const bound = new SqlParams()
  const where = [`caller = ${bound.add(caller)}`, `agent = ${bound.add(filter.agent)}`]
  if (filter.contextId !== undefined) where.push(`context_id = ${bound.add(filter.contextId)}::text`)
  if (filter.state !== undefined) where.push(`state = ${bound.add(filter.state)}::text`)
  if (filter.updatedFrom !== undefined) where.push(`updated_at >= ${bound.add(filter.updatedFrom)}::bigint`)
  return { where, bound }
}
