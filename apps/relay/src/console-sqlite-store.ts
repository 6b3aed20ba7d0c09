import { applyMigrations, type SharedStoreOpener, toStorageError } from '@agent-comm/spool'
import type BetterSqlite3 from 'better-sqlite3'
import type { AuditRecord, ConsoleSessionRecord, ConsoleStore, PendingApprovalRef } from './console-store.js'
import { RELAY_MIGRATIONS_FOLDER, RELAY_MIGRATIONS_TABLE } from './nonces.js'

interface AuditRow extends Omit<AuditRecord, 'expired'> {
  expired: number
}

const AUDIT_COLUMNS = `seq, request_id AS requestId, response_id AS responseId, requester, question, action,
  decision, comment, decided_by AS decidedBy, decided_at AS decidedAt, arguments, expired`

const fromAuditRow = (row: AuditRow): AuditRecord => ({ ...row, expired: row.expired === 1 })

// The request a message answers for (as `originalIdOf` of console-ids.ts): the original named by the
// relay's own escalated copy — a message whose id is `<original>.escalated`, an id no client may send, and
// whose metadata.approvalFor names that original — or the message itself, whatever its metadata claims.
// json_extract is guarded by json_valid (in a CASE, which SQLite evaluates lazily), since a row's JSON
// columns are stored as sent and need not parse.
const ESCALATED_FROM = `substr(m.id, 1, length(m.id) - length('.escalated'))`
const ORIGINAL_ID = `(CASE WHEN substr(m.id, -length('.escalated')) = '.escalated'
    AND (CASE WHEN json_valid(m.metadata) THEN json_extract(m.metadata, '$.approvalFor') END) = ${ESCALATED_FROM}
  THEN ${ESCALATED_FROM} ELSE m.id END)`

/**
 * The console's tables in the relay's SQLite file (usually the spool's), migrated with the relay's own
 * migrations. Each method is one statement or one transaction on the shared connection; better-sqlite3
 * runs them synchronously, so "insert unless decided" is atomic for every caller of the file.
 */
export class SqliteConsoleStore implements ConsoleStore {
  readonly #db: BetterSqlite3.Database
  readonly #stmt: Record<
    | 'createSession'
    | 'findSession'
    | 'deleteSession'
    | 'pruneSessions'
    | 'insertAudit'
    | 'decision'
    | 'insertOutbox'
    | 'outbox'
    | 'outboxSent'
    | 'auditAll'
    | 'auditOf'
    | 'pendingAll'
    | 'pendingOf'
    | 'throughput',
    BetterSqlite3.Statement
  >
  readonly #record: BetterSqlite3.Transaction<
    (entry: Omit<AuditRecord, 'seq'>, message: string, now: number) => AuditRecord | undefined
  >

  private constructor(db: BetterSqlite3.Database) {
    this.#db = db
    // Read through the spool's partial index of approval requests (`messages_approval_idx`, whose predicate
    // is the first condition here), in page order, so the rest of the message table is never read; decided
    // and escalated ones are skipped by key. A request stays open whatever its deliveries' status, short of
    // expired: an agent that acks it without deciding must not take it from the person's page (its
    // requester would wait for nothing), and a dead-lettered one is still for its deciders and the operator
    // to decide, or for the deadline sweep to apply its policy.
    const pending = (recipient: boolean) => `
      SELECT m.id AS id, m.created_at AS createdAt, m.seq AS seq FROM messages m
      WHERE m.payload LIKE '%approval_request%'
        AND CASE WHEN json_valid(m.payload) THEN json_extract(m.payload, '$.type') END = 'approval_request'
        AND (m.created_at, m.seq) > (@createdAt, @seq)
        AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_seq = m.seq AND d.status <> 'expired'${recipient ? ' AND d.recipient = @recipient' : ''})
        AND NOT EXISTS (SELECT 1 FROM console_audit a WHERE a.request_id = ${ORIGINAL_ID})
        AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.id = m.id || '.escalated')
      ORDER BY m.created_at, m.seq LIMIT @limit`
    this.#stmt = {
      createSession: db.prepare(
        `INSERT INTO console_sessions (id_hash, agent_id, admin, csrf_secret, created_at, expires_at)
         VALUES (@idHash, @agentId, @admin, @csrfSecret, @createdAt, @expiresAt)`,
      ),
      findSession: db.prepare(
        `SELECT id_hash AS idHash, agent_id AS agentId, admin, csrf_secret AS csrfSecret,
                created_at AS createdAt, expires_at AS expiresAt
         FROM console_sessions WHERE id_hash = ?`,
      ),
      deleteSession: db.prepare('DELETE FROM console_sessions WHERE id_hash = ?'),
      pruneSessions: db.prepare('DELETE FROM console_sessions WHERE expires_at <= ?'),
      insertAudit: db.prepare(
        `INSERT INTO console_audit (request_id, response_id, requester, question, action, decision, comment,
           decided_by, decided_at, arguments, expired)
         VALUES (@requestId, @responseId, @requester, @question, @action, @decision, @comment, @decidedBy,
           @decidedAt, @arguments, @expired)
         ON CONFLICT (request_id) DO NOTHING RETURNING ${AUDIT_COLUMNS}`,
      ),
      decision: db.prepare(`SELECT ${AUDIT_COLUMNS} FROM console_audit WHERE request_id = ?`),
      insertOutbox: db.prepare(
        'INSERT INTO console_outbox (request_id, message, created_at) VALUES (?, ?, ?)',
      ),
      outbox: db.prepare(
        'SELECT request_id AS requestId, message FROM console_outbox ORDER BY created_at LIMIT ?',
      ),
      outboxSent: db.prepare('DELETE FROM console_outbox WHERE request_id = ?'),
      auditAll: db.prepare(`SELECT ${AUDIT_COLUMNS} FROM console_audit WHERE seq > ? ORDER BY seq LIMIT ?`),
      auditOf: db.prepare(
        `SELECT ${AUDIT_COLUMNS} FROM console_audit
         WHERE seq > @after AND (decided_by = @agent OR requester = @agent) ORDER BY seq LIMIT @limit`,
      ),
      // better-sqlite3 binds numbers as REAL: the bucket is cast back to a whole number.
      // Messages arrive in about created_at order: the backward search from the newest row stops at the
      // first one created before the window, and the count reads the rows after it by primary key.
      throughput: db.prepare(
        `SELECT CAST((created_at - @start) / @bucket AS INTEGER) AS bucket, count(*) AS n FROM messages
         WHERE seq > coalesce((SELECT seq FROM messages WHERE created_at < @start ORDER BY seq DESC LIMIT 1), 0)
           AND created_at >= @start AND created_at < @end
         GROUP BY bucket`,
      ),
      pendingAll: db.prepare(pending(false)),
      pendingOf: db.prepare(pending(true)),
    }
    this.#record = db.transaction((entry, message, now) => {
      const row = this.#stmt.insertAudit.get({
        ...entry,
        expired: entry.expired ? 1 : 0,
      }) as AuditRow | undefined
      if (row === undefined) return undefined
      this.#stmt.insertOutbox.run(entry.requestId, message, now)
      return fromAuditRow(row)
    })
  }

  /** Applies the relay's migrations to `sqlite` (idempotent) and opens the store on it. */
  static open(sqlite: BetterSqlite3.Database): SqliteConsoleStore {
    try {
      applyMigrations(sqlite, {
        folder: RELAY_MIGRATIONS_FOLDER,
        table: RELAY_MIGRATIONS_TABLE,
        name: 'relay',
      })
      return new SqliteConsoleStore(sqlite)
    } catch (error) {
      throw toStorageError(error, sqlite.name)
    }
  }
  /** The opener of the store in a spool's SQLite file: `spool.openShared(SqliteConsoleStore.shared())`. */
  static shared(): SharedStoreOpener<SqliteConsoleStore> {
    return { name: "the relay console's store", sqlite: (sqlite) => SqliteConsoleStore.open(sqlite) }
  }

  #run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn())
    } catch (error) {
      return Promise.reject(toStorageError(error, this.#db.name))
    }
  }

  createSession(session: ConsoleSessionRecord): Promise<void> {
    return this.#run(() => {
      this.#stmt.createSession.run({ ...session, admin: session.admin ? 1 : 0 })
    })
  }

  findSession(idHash: string, now: number): Promise<ConsoleSessionRecord | undefined> {
    return this.#run(() => {
      const row = this.#stmt.findSession.get(idHash) as
        | (Omit<ConsoleSessionRecord, 'admin'> & { admin: number })
        | undefined
      if (row === undefined) return undefined
      if (row.expiresAt <= now) {
        this.#stmt.deleteSession.run(idHash)
        return undefined
      }
      return { ...row, admin: row.admin === 1 }
    })
  }

  deleteSession(idHash: string): Promise<void> {
    return this.#run(() => {
      this.#stmt.deleteSession.run(idHash)
    })
  }

  pruneSessions(now: number): Promise<number> {
    return this.#run(() => this.#stmt.pruneSessions.run(now).changes)
  }

  recordDecision(
    entry: Omit<AuditRecord, 'seq'>,
    outboxMessage: string,
    now: number,
  ): Promise<{ first: boolean; record: AuditRecord }> {
    return this.#run(() => {
      const inserted = this.#record(entry, outboxMessage, now)
      if (inserted !== undefined) return { first: true, record: inserted }
      const stored = this.#stmt.decision.get(entry.requestId) as AuditRow
      return { first: false, record: fromAuditRow(stored) }
    })
  }

  decision(requestId: string): Promise<AuditRecord | undefined> {
    return this.#run(() => {
      const row = this.#stmt.decision.get(requestId) as AuditRow | undefined
      return row === undefined ? undefined : fromAuditRow(row)
    })
  }

  outbox(limit: number): Promise<{ requestId: string; message: string }[]> {
    return this.#run(() => this.#stmt.outbox.all(limit) as { requestId: string; message: string }[])
  }

  outboxSent(requestId: string): Promise<void> {
    return this.#run(() => {
      this.#stmt.outboxSent.run(requestId)
    })
  }

  audit(params: { agentId?: string; afterSeq?: number; limit: number }): Promise<AuditRecord[]> {
    return this.#run(() => {
      const after = params.afterSeq ?? 0
      const rows = (
        params.agentId === undefined
          ? this.#stmt.auditAll.all(after, params.limit)
          : this.#stmt.auditOf.all({ after, agent: params.agentId, limit: params.limit })
      ) as AuditRow[]
      return rows.map(fromAuditRow)
    })
  }

  pendingApprovals(params: {
    recipient?: string
    after?: { createdAt: number; seq: number }
    limit: number
  }): Promise<PendingApprovalRef[]> {
    return this.#run(() => {
      const bound = {
        createdAt: params.after?.createdAt ?? Number.MIN_SAFE_INTEGER,
        seq: params.after?.seq ?? Number.MIN_SAFE_INTEGER,
        limit: params.limit,
      }
      return (
        params.recipient === undefined
          ? this.#stmt.pendingAll.all(bound)
          : this.#stmt.pendingOf.all({ ...bound, recipient: params.recipient })
      ) as PendingApprovalRef[]
    })
  }

  throughput(params: { start: number; bucketMs: number; buckets: number }): Promise<number[]> {
    return this.#run(() => {
      const rows = this.#stmt.throughput.all({
        start: params.start,
        bucket: params.bucketMs,
        end: params.start + params.bucketMs * params.buckets,
      }) as { bucket: number; n: number }[]
      return countsOf(rows, params.buckets)
    })
  }

  /** Nothing to release: the connection belongs to the spool. */
  async close(): Promise<void> {}
}

/** Counts by bucket index as a dense array of `buckets` numbers. */
function countsOf(rows: { bucket: number; n: number }[], buckets: number): number[] {
  const counts = new Array<number>(buckets).fill(0)
  for (const row of rows) {
    const index = Number(row.bucket)
    if (index >= 0 && index < buckets) counts[index] = Number(row.n)
  }
  return counts
}
