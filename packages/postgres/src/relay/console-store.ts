import type { Logger } from '@agent-comm/protocol'
import type {
  AuditRecord,
  ConsoleSessionRecord,
  ConsoleStore,
  PendingApprovalRef,
} from '@agent-comm/spool/console-store'
import type { SqlClient } from '../client.js'
import { connectToSchema } from '../connect.js'
import { toStorageError, withStorageErrors } from '../drivers/driver-errors.js'
import { applyPostgresMigrations, validateSchemaName } from '../migrate.js'
import { notifyChannel } from '../store.js'

/** A console sign-in as stored (see `console_sessions`): the record of `@agent-comm/spool/console-store`. */
export type PostgresConsoleSession = ConsoleSessionRecord

/** One row of the console's audit log (see `console_audit`): the record of `@agent-comm/spool/console-store`. */
export type PostgresAuditRecord = AuditRecord

const AUDIT_COLUMNS = `seq, request_id AS "requestId", response_id AS "responseId", requester, question, action,
  decision, comment, decided_by AS "decidedBy", decided_at AS "decidedAt", arguments, expired`

// The request a message answers for (as the relay's `originalIdOf`): the original named by the relay's own
// escalated copy — a message whose id is `<original>.escalated`, an id no client may send, and whose
// metadata.approvalFor names that original — or the message itself, whatever its metadata claims.
// approvalFor is read from the JSON text without casting it (a row's JSON columns are kept as sent and need
// not parse).
const ESCALATED_FROM = `left(m.id, -length('.escalated'))`
const ORIGINAL_ID = `(CASE WHEN right(m.id, length('.escalated')) = '.escalated'
    AND substring(m.metadata from '"approvalFor":"([^"]+)"') = ${ESCALATED_FROM}
  THEN ${ESCALATED_FROM} ELSE m.id END)`

/**
 * The relay console's sessions, audit log and outbox on PostgreSQL, shared by every replica, and the
 * query for pending approval requests over the spool's tables in the same schema. Each method is one
 * statement or one transaction; "first decision wins" is the unique `request_id` of `console_audit`.
 */
export class PostgresConsoleStore implements ConsoleStore {
  readonly #client: SqlClient
  readonly #location: string
  readonly #ownsClient: boolean
  readonly #sql: Record<string, string>
  readonly #channel: string
  #closed: Promise<void> | undefined

  constructor(options: { client: SqlClient; schema: string; location: string; ownsClient?: boolean }) {
    this.#client = options.client
    this.#location = options.location
    this.#ownsClient = options.ownsClient ?? false
    const schema = validateSchemaName(options.schema)
    const s = `"${schema}"`
    this.#channel = notifyChannel(schema)
    // Read through the spool's partial index of approval requests (`messages_approval_idx`, whose predicate
    // is the first condition here), in page order, so the rest of the message table is never read; decided
    // and escalated ones are skipped by key. A request stays open whatever its deliveries' status, short of
    // expired: an agent that acks it without deciding must not take it from the person's page (its
    // requester would wait for nothing), and a dead-lettered one is still for its deciders and the operator
    // to decide, or for the deadline sweep to apply its policy.
    const pending = (recipient: boolean) => `
      SELECT m.id AS id, m.created_at AS "createdAt", m.seq AS seq FROM ${s}.messages m
      WHERE m.payload LIKE '%"type":"approval_request"%'
        AND (m.created_at, m.seq) > ($1::bigint, $2::bigint)
        AND EXISTS (SELECT 1 FROM ${s}.deliveries d WHERE d.message_seq = m.seq AND d.status <> 'expired'${recipient ? ' AND d.recipient = $4' : ''})
        AND NOT EXISTS (SELECT 1 FROM ${s}.console_audit a WHERE a.request_id = ${ORIGINAL_ID})
        AND NOT EXISTS (SELECT 1 FROM ${s}.messages e WHERE e.id = m.id || '.escalated')
      ORDER BY m.created_at, m.seq LIMIT $3`
    this.#sql = {
      createSession: `INSERT INTO ${s}.console_sessions (id_hash, agent_id, admin, csrf_secret, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6)`,
      findSession: `SELECT id_hash AS "idHash", agent_id AS "agentId", admin, csrf_secret AS "csrfSecret",
        created_at AS "createdAt", expires_at AS "expiresAt" FROM ${s}.console_sessions WHERE id_hash = $1`,
      deleteSession: `DELETE FROM ${s}.console_sessions WHERE id_hash = $1`,
      pruneSessions: `DELETE FROM ${s}.console_sessions WHERE expires_at <= $1 RETURNING 1 AS n`,
      insertAudit: `INSERT INTO ${s}.console_audit (request_id, response_id, requester, question, action, decision,
          comment, decided_by, decided_at, arguments, expired)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (request_id) DO NOTHING RETURNING ${AUDIT_COLUMNS}`,
      insertOutbox: `INSERT INTO ${s}.console_outbox (request_id, message, created_at) VALUES ($1, $2, $3)`,
      decision: `SELECT ${AUDIT_COLUMNS} FROM ${s}.console_audit WHERE request_id = $1`,
      outbox: `SELECT request_id AS "requestId", message FROM ${s}.console_outbox ORDER BY created_at LIMIT $1`,
      outboxSent: `DELETE FROM ${s}.console_outbox WHERE request_id = $1`,
      auditAll: `SELECT ${AUDIT_COLUMNS} FROM ${s}.console_audit WHERE seq > $1 ORDER BY seq LIMIT $2`,
      auditOf: `SELECT ${AUDIT_COLUMNS} FROM ${s}.console_audit
        WHERE seq > $1 AND (decided_by = $3 OR requester = $3) ORDER BY seq LIMIT $2`,
      throughput: `SELECT (created_at - $1) / $2 AS bucket, count(*)::int AS n FROM ${s}.messages
        WHERE seq > coalesce((SELECT seq FROM ${s}.messages WHERE created_at < $1 ORDER BY seq DESC LIMIT 1), 0)
          AND created_at >= $1 AND created_at < $3
        GROUP BY bucket`,
      pendingAll: pending(false),
      pendingOf: pending(true),
    }
  }

  #query<R extends Record<string, unknown>>(text: string, params: unknown[]): Promise<R[]> {
    return withStorageErrors(this.#location, () => this.#client.query<R>(text, params))
  }

  async createSession(session: ConsoleSessionRecord): Promise<void> {
    await this.#query(this.#sql.createSession!, [
      session.idHash,
      session.agentId,
      session.admin,
      session.csrfSecret,
      session.createdAt,
      session.expiresAt,
    ])
  }

  async findSession(idHash: string, now: number): Promise<ConsoleSessionRecord | undefined> {
    const [row] = await this.#query<ConsoleSessionRecord & Record<string, unknown>>(this.#sql.findSession!, [
      idHash,
    ])
    if (row === undefined) return undefined
    if (Number(row.expiresAt) <= now) {
      await this.deleteSession(idHash)
      return undefined
    }
    return { ...row, createdAt: Number(row.createdAt), expiresAt: Number(row.expiresAt) }
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.#query(this.#sql.deleteSession!, [idHash])
  }

  async pruneSessions(now: number): Promise<number> {
    return (await this.#query(this.#sql.pruneSessions!, [now])).length
  }

  async recordDecision(
    entry: Omit<AuditRecord, 'seq'>,
    outboxMessage: string,
    now: number,
  ): Promise<{ first: boolean; record: AuditRecord }> {
    let inserted: AuditRecord | undefined
    try {
      inserted = await this.#client.transaction(async (tx) => {
        const [row] = await tx.query<AuditRecord & Record<string, unknown>>(this.#sql.insertAudit!, [
          entry.requestId,
          entry.responseId,
          entry.requester,
          entry.question,
          entry.action,
          entry.decision,
          entry.comment,
          entry.decidedBy,
          entry.decidedAt,
          entry.arguments,
          entry.expired,
        ])
        if (row === undefined) return undefined
        await tx.query(this.#sql.insertOutbox!, [entry.requestId, outboxMessage, now])
        return row
      })
    } catch (error) {
      throw toStorageError(error, this.#location)
    }
    if (inserted !== undefined) return { first: true, record: auditOf(inserted) }
    const stored = await this.decision(entry.requestId)
    if (stored === undefined) throw toStorageError(new Error('The audit row vanished'), this.#location)
    return { first: false, record: stored }
  }

  async decision(requestId: string): Promise<AuditRecord | undefined> {
    const [row] = await this.#query<AuditRecord & Record<string, unknown>>(this.#sql.decision!, [requestId])
    return row === undefined ? undefined : auditOf(row)
  }

  async outbox(limit: number): Promise<{ requestId: string; message: string }[]> {
    return this.#query<{ requestId: string; message: string }>(this.#sql.outbox!, [limit])
  }

  async outboxSent(requestId: string): Promise<void> {
    await this.#query(this.#sql.outboxSent!, [requestId])
  }

  async audit(params: { agentId?: string; afterSeq?: number; limit: number }): Promise<AuditRecord[]> {
    const after = params.afterSeq ?? 0
    const rows =
      params.agentId === undefined
        ? await this.#query<AuditRecord & Record<string, unknown>>(this.#sql.auditAll!, [after, params.limit])
        : await this.#query<AuditRecord & Record<string, unknown>>(this.#sql.auditOf!, [
            after,
            params.limit,
            params.agentId,
          ])
    return rows.map(auditOf)
  }

  async pendingApprovals(params: {
    recipient?: string
    after?: { createdAt: number; seq: number }
    limit: number
  }): Promise<PendingApprovalRef[]> {
    const bound = [params.after?.createdAt ?? Number.MIN_SAFE_INTEGER, params.after?.seq ?? 0, params.limit]
    const rows = await this.#query<PendingApprovalRef & Record<string, unknown>>(
      params.recipient === undefined ? this.#sql.pendingAll! : this.#sql.pendingOf!,
      params.recipient === undefined ? bound : [...bound, params.recipient],
    )
    return rows.map((r) => ({ id: r.id, createdAt: Number(r.createdAt), seq: Number(r.seq) }))
  }

  /**
   * Messages created in each of `buckets` windows of `bucketMs` from `start`, counted by the database.
   * Messages arrive in about created_at order: the backward search from the newest row stops at the first
   * one created before the window, and the count reads the rows after it by primary key.
   */
  async throughput(params: { start: number; bucketMs: number; buckets: number }): Promise<number[]> {
    const rows = await this.#query<{ bucket: number; n: number }>(this.#sql.throughput!, [
      params.start,
      params.bucketMs,
      params.start + params.bucketMs * params.buckets,
    ])
    const counts = new Array<number>(params.buckets).fill(0)
    for (const row of rows) {
      const index = Number(row.bucket)
      if (index >= 0 && index < params.buckets) counts[index] = Number(row.n)
    }
    return counts
  }

  /**
   * Sends the spool's notification (the channel every replica's spool listens on), so the console pages of
   * other replicas re-read now after a person's claim or ack, which the spool store does not announce. At a
   * person's pace, never on an agent's hot path; a spurious wake-up only costs a waiting consumer a re-check.
   */
  async notifyChange(): Promise<void> {
    await this.#query('SELECT pg_notify($1, $2)', [this.#channel, ''])
  }

  /** Ends the pool when the store opened it (see {@link openPostgresConsoleStore}). Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= this.#ownsClient ? this.#client.end() : Promise.resolve()
    return this.#closed
  }
}

function auditOf(row: AuditRecord): AuditRecord {
  return { ...row, seq: Number(row.seq), decidedAt: Number(row.decidedAt) }
}

/** Options of {@link openPostgresConsoleStore}. */
export interface OpenPostgresConsoleStoreOptions {
  /** `postgres://user:password@host:5432/database`. */
  url: string
  /** The schema of the relay's spool (default `agent_comm`). */
  schema?: string
  /** Connections of this small pool of its own (2). */
  poolSize?: number
  logger?: Logger
}

/**
 * Opens the relay console's store on PostgreSQL, on a small pool of its own, after applying the migrations
 * (the same ones as the spool's). `ConfigError` for a bad URL or schema, `StorageError` when PostgreSQL
 * cannot be reached.
 */
export async function openPostgresConsoleStore(
  options: OpenPostgresConsoleStoreOptions,
): Promise<PostgresConsoleStore> {
  const { client, location, schema } = connectToSchema(options, 2)
  try {
    await applyPostgresMigrations(client, schema)
  } catch (error) {
    await client.end().catch(() => undefined)
    throw toStorageError(error, location)
  }
  return new PostgresConsoleStore({ client, schema, location, ownsClient: true })
}
