import type BetterSqlite3 from 'better-sqlite3'
import {
  CopiedDeliverySchema,
  CopiedIdempotencyKeySchema,
  CopiedMessageSchema,
  type CopiedRow,
  type CopiedTable,
  type CopySection,
  checkRows,
  copiedColumns,
  copiedTableNames,
  type DatabaseRows,
  describedRowSchema,
  destinationNotEmpty,
  orphanDelivery,
} from '../copy.js'
import { hasTable } from './connection.js'

// The SQLite side of `agent-comm db copy` (see `../copy.ts`): the rows of one file, read in one read
// transaction (WAL gives it a snapshot: writers of other processes go on, unseen), and written in one
// BEGIN IMMEDIATE transaction, so a failure leaves the destination as it was.

const MESSAGE_COLUMNS = `id, from_agent AS fromAgent, to_agent AS toAgent, subject, body, priority,
  conversation_id AS conversationId, reply_to AS replyTo, ttl_hours AS ttlHours, payload, metadata,
  created_at AS createdAt, expires_at AS expiresAt, held_until AS heldUntil, held_max_attempts AS heldMaxAttempts`

const DELIVERY_COLUMNS = `m.id AS messageId, d.recipient, d.status, d.priority, d.attempt,
  d.max_attempts AS maxAttempts, d.available_at AS availableAt, d.lease_until AS leaseUntil, d.receipt,
  d.expires_at AS expiresAt, d.last_error AS lastError, d.created_at AS createdAt, d.updated_at AS updatedAt,
  d.acked_at AS ackedAt`

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** Reads every copied row of `sqlite` in one read transaction (one snapshot). */
export function exportSqliteRows(
  sqlite: BetterSqlite3.Database,
  sections: readonly CopySection[],
  location: string,
): DatabaseRows {
  return sqlite.transaction((): DatabaseRows => {
    const messages = checkRows(
      CopiedMessageSchema,
      sqlite.prepare(`SELECT ${MESSAGE_COLUMNS} FROM messages ORDER BY seq`).all(),
      'messages',
      location,
    )
    const deliveries = checkRows(
      CopiedDeliverySchema,
      sqlite
        .prepare(
          `SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN messages m ON m.seq = d.message_seq ORDER BY d.id`,
        )
        .all(),
      'deliveries',
      location,
    )
    const orphan = sqlite
      .prepare(
        'SELECT message_seq FROM deliveries WHERE message_seq NOT IN (SELECT seq FROM messages) LIMIT 1',
      )
      .pluck()
      .get()
    if (orphan !== undefined) throw orphanDelivery(location, `seq ${String(orphan)}`)
    // A key on its message's row has no time of its own: the message's is the closest (and tells the
    // import to put it back on the row).
    const keys = checkRows(
      CopiedIdempotencyKeySchema,
      sqlite
        .prepare(
          `SELECT sender, key, messageId, createdAt, expiresAt FROM (
             SELECT 0 AS kind, seq AS ord, from_agent AS sender, idempotency_key AS key, id AS messageId,
               created_at AS createdAt, idempotency_expires_at AS expiresAt
             FROM messages WHERE idempotency_key IS NOT NULL
             UNION ALL
             SELECT 1, rowid, sender, key, message_id, created_at, expires_at FROM idempotency_keys)
           ORDER BY kind, ord`,
        )
        .all(),
      'idempotency_keys',
      location,
    )
    const copied: DatabaseRows['sections'] = {}
    for (const section of sections) {
      if (!section.tables.some((table) => hasTable(sqlite, table.name))) continue
      const tables: Record<string, CopiedRow[]> = {}
      for (const table of section.tables) {
        tables[table.name] = hasTable(sqlite, table.name) ? readTable(sqlite, table, location) : []
      }
      copied[section.name] = tables
    }
    return { messages, deliveries, idempotencyKeys: keys, sections: copied }
  })()
}

/** A described table's rows in the order they were written, booleans read back from SQLite's 0/1. */
function readTable(sqlite: BetterSqlite3.Database, table: CopiedTable, location: string): CopiedRow[] {
  const columns = copiedColumns(table)
  const select = columns.map(([key, column]) => `${quote(column.name)} AS ${quote(key)}`).join(', ')
  const rows = sqlite
    .prepare(`SELECT ${select} FROM ${quote(table.name)} ORDER BY rowid`)
    .all() as CopiedRow[]
  const booleans = columns.filter(([, column]) => column.kind === 'boolean').map(([key]) => key)
  for (const row of rows) {
    for (const key of booleans) if (row[key] !== null) row[key] = row[key] === 1
  }
  return checkRows(describedRowSchema(table), rows, table.name, location)
}

/** Brings up to date the tables of the sections `sqlite` has (a section it lacks is not created). */
export function migratePresentSections(
  sqlite: BetterSqlite3.Database,
  sections: readonly CopySection[],
): void {
  for (const section of sections) {
    if (section.tables.some((table) => hasTable(sqlite, table.name))) section.migrateSqlite(sqlite)
  }
}

/** Whether a section has rows to write (an optional one without is not made in the destination). */
function sectionHasRows(rows: DatabaseRows, section: CopySection): boolean {
  return Object.values(rows.sections[section.name] ?? {}).some((tableRows) => tableRows.length > 0)
}

/**
 * Makes the tables of the sections the copy writes: each section's migrations, on their own transactions,
 * before the copy's (a migration cannot run inside it). Idempotent.
 */
export function prepareSqliteSections(
  sqlite: BetterSqlite3.Database,
  rows: DatabaseRows,
  sections: readonly CopySection[],
): void {
  for (const section of sections) {
    if (section.optional !== true || sectionHasRows(rows, section)) section.migrateSqlite(sqlite)
  }
}

/**
 * Writes `rows` into `sqlite` in one BEGIN IMMEDIATE transaction, refusing (ConflictError, nothing written)
 * a database that holds agent-comm data. The sections' tables must exist ({@link prepareSqliteSections}).
 */
export function importSqliteRows(
  sqlite: BetterSqlite3.Database,
  rows: DatabaseRows,
  sections: readonly CopySection[],
  location: string,
): void {
  const written = sections.filter((s) => hasTable(sqlite, s.tables[0]?.name ?? ''))
  sqlite
    .transaction(() => {
      for (const table of copiedTableNames(written)) {
        if (
          hasTable(sqlite, table) &&
          sqlite.prepare(`SELECT 1 FROM ${quote(table)} LIMIT 1`).get() !== undefined
        ) {
          throw destinationNotEmpty(location, table)
        }
      }
      const seqs = insertMessages(sqlite, rows)
      insertKeys(sqlite, rows, seqs)
      const delivery =
        sqlite.prepare(`INSERT INTO deliveries (message_seq, recipient, status, priority, attempt,
          max_attempts, available_at, lease_until, receipt, expires_at, last_error, created_at, updated_at, acked_at)
        VALUES (@messageSeq, @recipient, @status, @priority, @attempt, @maxAttempts, @availableAt, @leaseUntil,
          @receipt, @expiresAt, @lastError, @createdAt, @updatedAt, @ackedAt)`)
      for (const { messageId, ...d } of rows.deliveries) {
        const messageSeq = seqs.get(messageId)?.seq
        if (messageSeq === undefined) throw orphanDelivery('the copied rows', messageId)
        delivery.run({ ...d, messageSeq })
      }
      // The table held no message: every copied one is still to be indexed by the first search.
      sqlite.prepare("UPDATE spool_state SET value = 0 WHERE key = 'fts_indexed_seq'").run()
      for (const section of written) {
        for (const table of section.tables)
          writeTable(sqlite, table, rows.sections[section.name]?.[table.name] ?? [])
      }
    })
    .immediate()
}

type StoredMessages = Map<
  string,
  { seq: number | bigint; fromAgent: string; createdAt: number; keyed: boolean }
>

function insertMessages(sqlite: BetterSqlite3.Database, rows: DatabaseRows): StoredMessages {
  const insert = sqlite.prepare(`INSERT INTO messages (id, from_agent, to_agent, subject, body, priority,
      conversation_id, reply_to, ttl_hours, payload, metadata, created_at, expires_at, held_until, held_max_attempts)
    VALUES (@id, @fromAgent, @toAgent, @subject, @body, @priority, @conversationId, @replyTo, @ttlHours, @payload,
      @metadata, @createdAt, @expiresAt, @heldUntil, @heldMaxAttempts)`)
  const seqs: StoredMessages = new Map()
  for (const message of rows.messages) {
    const { lastInsertRowid } = insert.run(message)
    seqs.set(message.id, {
      seq: lastInsertRowid,
      fromAgent: message.fromAgent,
      createdAt: message.createdAt,
      keyed: false,
    })
  }
  return seqs
}

/**
 * A key goes back on its message's row when it came from one (same sender, the message's time, the row
 * free); any other is kept in `idempotency_keys`. Both places deduplicate alike.
 */
function insertKeys(sqlite: BetterSqlite3.Database, rows: DatabaseRows, seqs: StoredMessages): void {
  const onMessage = sqlite.prepare(
    'UPDATE messages SET idempotency_key = ?, idempotency_expires_at = ? WHERE seq = ?',
  )
  const aside = sqlite.prepare(
    'INSERT INTO idempotency_keys (sender, key, message_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
  )
  for (const key of rows.idempotencyKeys) {
    const message = seqs.get(key.messageId)
    if (
      message !== undefined &&
      !message.keyed &&
      message.fromAgent === key.sender &&
      message.createdAt === key.createdAt
    ) {
      onMessage.run(key.key, key.expiresAt, message.seq)
      message.keyed = true
    } else {
      aside.run(key.sender, key.key, key.messageId, key.createdAt, key.expiresAt)
    }
  }
}

function writeTable(sqlite: BetterSqlite3.Database, table: CopiedTable, rows: readonly CopiedRow[]): void {
  if (rows.length === 0) return
  const columns = copiedColumns(table)
  const insert = sqlite.prepare(
    `INSERT INTO ${quote(table.name)} (${columns.map(([, c]) => quote(c.name)).join(', ')})
     VALUES (${columns.map(() => '?').join(', ')})`,
  )
  for (const row of rows) {
    insert.run(
      ...columns.map(([key]) => {
        const value = row[key] ?? null
        return typeof value === 'boolean' ? Number(value) : value
      }),
    )
  }
}
