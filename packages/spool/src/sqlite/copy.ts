import type BetterSqlite3 from 'better-sqlite3'
import {
  type CopiedDelivery,
  CopiedDeliverySchema,
  type CopiedIdempotencyKey,
  CopiedIdempotencyKeySchema,
  type CopiedMessage,
  CopiedMessageSchema,
  type CopiedRow,
  type CopiedTable,
  type CopyPlan,
  type CopySection,
  checkRows,
  copiedColumns,
  copiedTableNames,
  describedRowSchema,
  destinationNotEmpty,
  orphanDelivery,
  type RowSink,
  type RowSource,
} from '../copy.js'
import { hasTable } from './database.js'

// The SQLite side of `agent-comm db copy` (see `../copy.ts`): the rows of one file, read in one read
// transaction (WAL gives it a snapshot: writers of other processes go on, unseen) a batch at a time by
// rowid, and written in one BEGIN IMMEDIATE transaction, so a failure leaves the destination as it was.
// Both transactions stay open while the other side of the copy awaits: the connection is the copy's alone.

const MESSAGE_COLUMNS = `id, from_agent AS fromAgent, to_agent AS toAgent, subject, body, priority,
  conversation_id AS conversationId, reply_to AS replyTo, ttl_hours AS ttlHours, payload, metadata,
  created_at AS createdAt, expires_at AS expiresAt, held_until AS heldUntil, held_max_attempts AS heldMaxAttempts`

const DELIVERY_COLUMNS = `m.id AS messageId, d.recipient, d.status, d.priority, d.attempt,
  d.max_attempts AS maxAttempts, d.available_at AS availableAt, d.lease_until AS leaseUntil, d.receipt,
  d.expires_at AS expiresAt, d.last_error AS lastError, d.created_at AS createdAt, d.updated_at AS updatedAt,
  d.acked_at AS ackedAt`

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** The alias of the key a page is read in order of (a name no copied column takes). */
const ORD = '_copy_ord'

/**
 * Reads `select` page by page: its rows carry their key as {@link ORD} and come in its order; it takes the
 * last key read and the page size (`WHERE key > ? ORDER BY key LIMIT ?`). Each page is a statement of its
 * own, so no statement stays open between two (the transaction keeps the snapshot).
 */
function* pages(select: BetterSqlite3.Statement, batchRows: number): Generator<Record<string, unknown>[]> {
  let after: number | bigint = -(2n ** 63n)
  for (;;) {
    const rows = select.all(after, batchRows) as Record<string, unknown>[]
    if (rows.length === 0) return
    after = rows[rows.length - 1]![ORD] as number | bigint
    for (const row of rows) delete row[ORD]
    yield rows
    if (rows.length < batchRows) return
  }
}

/**
 * Sends every copied row of `sqlite` to `sink`, `batchRows` at a time, from one read transaction (one
 * snapshot) held until the last batch is written.
 */
export async function exportSqliteRows(
  sqlite: BetterSqlite3.Database,
  sections: readonly CopySection[],
  location: string,
  sink: RowSink,
  batchRows: number,
): Promise<void> {
  // Deferred: the snapshot is taken by the first read below, and kept until COMMIT.
  sqlite.prepare('BEGIN').run()
  try {
    const orphan = sqlite
      .prepare(
        'SELECT message_seq FROM deliveries WHERE message_seq NOT IN (SELECT seq FROM messages) LIMIT 1',
      )
      .pluck()
      .get()
    if (orphan !== undefined) throw orphanDelivery(location, `seq ${String(orphan)}`)
    const plan: CopyPlan = {}
    for (const section of sections) {
      if (!section.tables.some((table) => hasTable(sqlite, table.name))) continue
      plan[section.name] = Object.fromEntries(
        section.tables.map((table) => [
          table.name,
          hasTable(sqlite, table.name) &&
            sqlite.prepare(`SELECT 1 FROM ${quote(table.name)} LIMIT 1`).get() !== undefined,
        ]),
      )
    }
    await sink.begin(plan)

    let read = 0
    const messages = sqlite.prepare(
      `SELECT seq AS ${ORD}, ${MESSAGE_COLUMNS} FROM messages WHERE seq > ? ORDER BY seq LIMIT ?`,
    )
    for (const page of pages(messages, batchRows)) {
      await sink.messages(checkRows(CopiedMessageSchema, page, 'messages', location, read))
      read += page.length
    }
    // A key on its message's row has no time of its own: the message's is the closest (and tells the
    // import to put it back on the row). Those come first, then the ones kept in `idempotency_keys`.
    read = 0
    const keyPages = [
      sqlite.prepare(
        `SELECT seq AS ${ORD}, from_agent AS sender, idempotency_key AS key, id AS messageId,
           created_at AS createdAt, idempotency_expires_at AS expiresAt
         FROM messages WHERE idempotency_key IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      sqlite.prepare(
        `SELECT rowid AS ${ORD}, sender, key, message_id AS messageId, created_at AS createdAt,
           expires_at AS expiresAt
         FROM idempotency_keys WHERE rowid > ? ORDER BY rowid LIMIT ?`,
      ),
    ]
    for (const select of keyPages) {
      for (const page of pages(select, batchRows)) {
        await sink.idempotencyKeys(
          checkRows(CopiedIdempotencyKeySchema, page, 'idempotency_keys', location, read),
        )
        read += page.length
      }
    }
    read = 0
    const deliveries = sqlite.prepare(
      `SELECT d.id AS ${ORD}, ${DELIVERY_COLUMNS} FROM deliveries d JOIN messages m ON m.seq = d.message_seq
       WHERE d.id > ? ORDER BY d.id LIMIT ?`,
    )
    for (const page of pages(deliveries, batchRows)) {
      await sink.deliveries(checkRows(CopiedDeliverySchema, page, 'deliveries', location, read))
      read += page.length
    }
    for (const section of sections) {
      for (const table of section.tables) {
        if (plan[section.name]?.[table.name] !== true) continue
        await sendTable(sqlite, section.name, table, location, sink, batchRows)
      }
    }
  } finally {
    // The transaction only read: ending it releases the snapshot.
    if (sqlite.inTransaction) sqlite.prepare('COMMIT').run()
  }
}

/** A described table's rows in the order they were written, booleans read back from SQLite's 0/1. */
async function sendTable(
  sqlite: BetterSqlite3.Database,
  section: string,
  table: CopiedTable,
  location: string,
  sink: RowSink,
  batchRows: number,
): Promise<void> {
  const columns = copiedColumns(table)
  const select = columns.map(([key, column]) => `${quote(column.name)} AS ${quote(key)}`).join(', ')
  const booleans = columns.filter(([, column]) => column.kind === 'boolean').map(([key]) => key)
  const statement = sqlite.prepare(
    `SELECT rowid AS ${ORD}, ${select} FROM ${quote(table.name)} WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  )
  let read = 0
  for (const page of pages(statement, batchRows)) {
    const rows = page as CopiedRow[]
    for (const row of rows) {
      for (const key of booleans) if (row[key] !== null) row[key] = row[key] === 1
    }
    await sink.tableRows(
      section,
      table.name,
      checkRows(describedRowSchema(table), rows, table.name, location, read),
    )
    read += rows.length
  }
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

/**
 * Writes the rows `source` sends into `sqlite` in one BEGIN IMMEDIATE transaction, refusing (ConflictError,
 * nothing written) a database that holds agent-comm data. The tables of the sections the copy writes are
 * made first (each section's migrations, on their own transactions: a migration cannot run inside the
 * copy's), once the source has told what it holds; an optional section only when the source has its rows.
 * `mapError` turns a failure of this side into the store's error (the source's pass through).
 */
export async function importSqliteRows(
  sqlite: BetterSqlite3.Database,
  source: RowSource,
  sections: readonly CopySection[],
  location: string,
  mapError: (error: unknown) => Error,
): Promise<void> {
  const writer = new SqliteRowWriter(sqlite, sections, location)
  const mapped = (fn: () => void): void => {
    try {
      fn()
    } catch (error) {
      throw mapError(error)
    }
  }
  try {
    await source({
      begin: (plan) => mapped(() => writer.begin(plan)),
      messages: (rows) => mapped(() => writer.messages(rows)),
      idempotencyKeys: (rows) => mapped(() => writer.idempotencyKeys(rows)),
      deliveries: (rows) => mapped(() => writer.deliveries(rows)),
      tableRows: (section, table, rows) => mapped(() => writer.tableRows(section, table, rows)),
    })
    // A source with nothing to send still leaves a checked, migrated destination.
    if (!sqlite.inTransaction) mapped(() => writer.begin({}))
    mapped(() => sqlite.prepare('COMMIT').run())
  } catch (error) {
    if (sqlite.inTransaction) sqlite.prepare('ROLLBACK').run()
    throw error
  }
}

/** The writing half of a SQLite import: one batch at a time, inside the transaction `begin` opens. */
class SqliteRowWriter {
  readonly #sqlite: BetterSqlite3.Database
  readonly #sections: readonly CopySection[]
  readonly #location: string
  #written: readonly CopySection[] = []
  readonly #inserts = new Map<string, BetterSqlite3.Statement>()

  constructor(sqlite: BetterSqlite3.Database, sections: readonly CopySection[], location: string) {
    this.#sqlite = sqlite
    this.#sections = sections
    this.#location = location
  }

  begin(plan: CopyPlan): void {
    const sqlite = this.#sqlite
    for (const section of this.#sections) {
      const hasRows = Object.values(plan[section.name] ?? {}).some(Boolean)
      if (section.optional !== true || hasRows) section.migrateSqlite(sqlite)
    }
    this.#written = this.#sections.filter((s) => hasTable(sqlite, s.tables[0]?.name ?? ''))
    sqlite.prepare('BEGIN IMMEDIATE').run()
    for (const table of copiedTableNames(this.#written)) {
      if (
        hasTable(sqlite, table) &&
        sqlite.prepare(`SELECT 1 FROM ${quote(table)} LIMIT 1`).get() !== undefined
      ) {
        throw destinationNotEmpty(this.#location, table)
      }
    }
    // The table held no message: every copied one is still to be indexed by the first search.
    sqlite.prepare("UPDATE spool_state SET value = 0 WHERE key = 'fts_indexed_seq'").run()
  }

  messages(rows: readonly CopiedMessage[]): void {
    const insert = this.#statement('messages', () =>
      this.#sqlite.prepare(`INSERT INTO messages (id, from_agent, to_agent, subject, body, priority,
          conversation_id, reply_to, ttl_hours, payload, metadata, created_at, expires_at, held_until, held_max_attempts)
        VALUES (@id, @fromAgent, @toAgent, @subject, @body, @priority, @conversationId, @replyTo, @ttlHours, @payload,
          @metadata, @createdAt, @expiresAt, @heldUntil, @heldMaxAttempts)`),
    )
    for (const message of rows) insert.run(message)
  }

  /**
   * A key goes back on its message's row when it came from one (same sender, the message's time, the row
   * not keyed yet by this copy); any other is kept in `idempotency_keys`. Both places deduplicate alike.
   */
  idempotencyKeys(rows: readonly CopiedIdempotencyKey[]): void {
    const onMessage = this.#statement('keys-on-message', () =>
      this.#sqlite.prepare(
        `UPDATE messages SET idempotency_key = @key, idempotency_expires_at = @expiresAt
         WHERE id = @messageId AND from_agent = @sender AND created_at = @createdAt AND idempotency_key IS NULL`,
      ),
    )
    const aside = this.#statement('keys-aside', () =>
      this.#sqlite.prepare(
        `INSERT INTO idempotency_keys (sender, key, message_id, created_at, expires_at)
         VALUES (@sender, @key, @messageId, @createdAt, @expiresAt)`,
      ),
    )
    for (const key of rows) if (onMessage.run(key).changes === 0) aside.run(key)
  }

  /** Each delivery names its message by id: the copy's own `seq` of it is looked up (an index on `id`). */
  deliveries(rows: readonly CopiedDelivery[]): void {
    const insert = this.#statement('deliveries', () =>
      this.#sqlite.prepare(`INSERT INTO deliveries (message_seq, recipient, status, priority, attempt,
          max_attempts, available_at, lease_until, receipt, expires_at, last_error, created_at, updated_at, acked_at)
        SELECT seq, @recipient, @status, @priority, @attempt, @maxAttempts, @availableAt, @leaseUntil,
          @receipt, @expiresAt, @lastError, @createdAt, @updatedAt, @ackedAt
        FROM messages WHERE id = @messageId`),
    )
    for (const delivery of rows) {
      if (insert.run(delivery).changes === 0) throw orphanDelivery('the copied rows', delivery.messageId)
    }
  }

  tableRows(section: string, tableName: string, rows: readonly CopiedRow[]): void {
    const table = this.#written.find((s) => s.name === section)?.tables.find((t) => t.name === tableName)
    if (table === undefined) return
    const columns = copiedColumns(table)
    const insert = this.#statement(`table:${tableName}`, () =>
      this.#sqlite.prepare(
        `INSERT INTO ${quote(table.name)} (${columns.map(([, c]) => quote(c.name)).join(', ')})
         VALUES (${columns.map(() => '?').join(', ')})`,
      ),
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

  #statement(name: string, prepare: () => BetterSqlite3.Statement): BetterSqlite3.Statement {
    let statement = this.#inserts.get(name)
    if (statement === undefined) {
      statement = prepare()
      this.#inserts.set(name, statement)
    }
    return statement
  }
}
