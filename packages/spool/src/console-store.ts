// The relay console's storage seam: what a console store keeps, the records it returns, and its tables'
// description. It lives below the relay and `@agent-comm/postgres` (subpath `@agent-comm/spool/console-store`)
// so the relay's SQLite store and the PostgreSQL store implement one interface over one set of record types
// and build their tables from one description.

import { describeTable } from './table-description.js'

/** A console sign-in as stored: the SHA-256 of the cookie's id, who, and until when. */
export interface ConsoleSessionRecord {
  idHash: string
  agentId: string
  admin: boolean
  /** The secret @fastify/csrf-protection derives this session's CSRF tokens from. */
  csrfSecret: string
  /** ms since the epoch. */
  createdAt: number
  expiresAt: number
}

/** One row of the audit log of approval decisions. */
export interface AuditRecord {
  /** Position in the log: the paging cursor. */
  seq: number
  requestId: string
  responseId: string
  requester: string
  question: string
  action: string | null
  decision: string
  comment: string | null
  decidedBy: string
  /** ms since the epoch. */
  decidedAt: number
  /** JSON text of the edited arguments, or null. */
  arguments: string | null
  expired: boolean
}

/** A pending approval request found by {@link ConsoleStore.pendingApprovals}: its id and paging key. */
export interface PendingApprovalRef {
  id: string
  createdAt: number
  seq: number
}

/**
 * Where the console keeps what must outlive a relay process and be shared by its replicas: sign-in
 * sessions, the audit log of approval decisions (with the outbox of their response messages), and the
 * query for pending approval requests. One implementation per store: SQLite (`SqliteConsoleStore`, in the
 * relay) and PostgreSQL (`PostgresConsoleStore` of `@agent-comm/postgres`), each with its own SQL.
 */
export interface ConsoleStore {
  createSession(session: ConsoleSessionRecord): Promise<void>
  /** The session with this id hash, unless it expired at `now` (an expired one is deleted). */
  findSession(idHash: string, now: number): Promise<ConsoleSessionRecord | undefined>
  deleteSession(idHash: string): Promise<void>
  /** Deletes sessions expired at `now`; returns how many. */
  pruneSessions(now: number): Promise<number>
  /**
   * Records a decision and, in the same transaction, its response message in the outbox — unless the
   * request is decided already: then nothing is written and the stored decision is returned (`first: false`).
   */
  recordDecision(
    entry: Omit<AuditRecord, 'seq'>,
    outboxMessage: string,
    now: number,
  ): Promise<{ first: boolean; record: AuditRecord }>
  /** The decision recorded for a request, if any. */
  decision(requestId: string): Promise<AuditRecord | undefined>
  /** Response messages recorded but not yet marked sent, oldest first. */
  outbox(limit: number): Promise<{ requestId: string; message: string }[]>
  /** Marks the outbox entry of a request sent (removes it). */
  outboxSent(requestId: string): Promise<void>
  /**
   * The audit log in order, `limit` rows after `afterSeq`: every row, or those decided by or requested by
   * `agentId`.
   */
  audit(params: { agentId?: string; afterSeq?: number; limit: number }): Promise<AuditRecord[]>
  /**
   * Approval requests not decided, not handed on to an escalated copy, with a delivery not expired (to
   * `recipient`, or to anyone) — queued, leased, dead-lettered, or acked by an agent that did not decide
   * it — oldest first, `limit` after the key `after`. Read from the spool's tables, which this store shares
   * a database with.
   */
  pendingApprovals(params: {
    recipient?: string
    after?: { createdAt: number; seq: number }
    limit: number
  }): Promise<PendingApprovalRef[]>
  /**
   * Messages created in each of `buckets` windows of `bucketMs` from `start`, counted in the database
   * (every message of the window, not a sample). Reads the messages sent since the newest one created
   * before `start`: the last window's worth, whatever the table's size.
   */
  throughput(params: { start: number; bucketMs: number; buckets: number }): Promise<number[]>
  /**
   * Tells every process watching the spool that the console changed a delivery (a person opened or
   * finished a message), where the store's change feed would not: PostgreSQL notifies only writes that make
   * a delivery claimable, so without this a claim or ack on one replica reaches the pages served by another
   * only at their slow re-read. Optional: a store whose processes see every commit needs none.
   */
  notifyChange?(): Promise<void>
  /** Releases what the store holds; a connection it was given stays open for its owner. */
  close(): Promise<void>
}

/**
 * Console sign-ins, shared by every process (or relay replica) on the database: a session made on one works
 * on all, and signing out on one ends it on all. The cookie holds a random id; only its SHA-256 is stored
 * (`id_hash`), so a copy of the database holds no usable cookie. `csrf_secret` is the secret
 * @fastify/csrf-protection derives the session's CSRF tokens from. Times are ms since the epoch, on the
 * relay's clock.
 */
export const consoleSessionsTable = describeTable({
  name: 'console_sessions',
  columns: {
    idHash: { name: 'id_hash', kind: 'text', primaryKey: true },
    agentId: { name: 'agent_id', kind: 'text', notNull: true },
    admin: { name: 'admin', kind: 'boolean', notNull: true },
    csrfSecret: { name: 'csrf_secret', kind: 'text', notNull: true },
    createdAt: { name: 'created_at', kind: 'epochMs', notNull: true },
    expiresAt: { name: 'expires_at', kind: 'epochMs', notNull: true },
  },
  indexes: { console_sessions_expires_idx: ['expiresAt'] },
})

/**
 * The audit log of approval decisions: append-only (nothing updates or deletes a row, `cleanup` of the
 * spool included), one row per decided request. The unique `request_id` is the referee of "first decision
 * wins": of two deciders, on one process or several, exactly one insert lands. `decided_by` is the verified
 * identity that decided (or `system:expiry`); `arguments` the JSON of the edited arguments, or null.
 */
export const consoleAuditTable = describeTable({
  name: 'console_audit',
  columns: {
    seq: { name: 'seq', kind: 'rowid' },
    requestId: { name: 'request_id', kind: 'text', notNull: true, unique: true },
    responseId: { name: 'response_id', kind: 'text', notNull: true },
    requester: { name: 'requester', kind: 'text', notNull: true },
    question: { name: 'question', kind: 'text', notNull: true },
    action: { name: 'action', kind: 'text' },
    decision: { name: 'decision', kind: 'text', notNull: true },
    comment: { name: 'comment', kind: 'text' },
    decidedBy: { name: 'decided_by', kind: 'text', notNull: true },
    decidedAt: { name: 'decided_at', kind: 'epochMs', notNull: true },
    arguments: { name: 'arguments', kind: 'text' },
    expired: { name: 'expired', kind: 'boolean', notNull: true },
  },
  indexes: {
    console_audit_decided_by_idx: ['decidedBy', 'seq'],
    console_audit_requester_idx: ['requester', 'seq'],
  },
})

/**
 * Decisions recorded but whose `approval_response` message is not yet in the spool (a transactional
 * outbox): written in the audit row's transaction, deleted once the message is sent. A process that died
 * in between leaves a row here, which the next deadline sweep sends (the message id is deterministic, so a
 * second send is a reported duplicate). `message` is the JSON of the response message.
 */
export const consoleOutboxTable = describeTable({
  name: 'console_outbox',
  columns: {
    requestId: { name: 'request_id', kind: 'text', primaryKey: true },
    message: { name: 'message', kind: 'text', notNull: true },
    createdAt: { name: 'created_at', kind: 'epochMs', notNull: true },
  },
})
