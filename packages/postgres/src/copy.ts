import type { CopiedRow, CopiedTable, CopySection, DatabaseRows } from '@agent-comm/spool/copy'
import {
  CopiedDeliverySchema,
  CopiedIdempotencyKeySchema,
  CopiedMessageSchema,
  checkRows,
  copiedColumns,
  copiedTableNames,
  describedRowSchema,
  destinationNotEmpty,
  orderColumns,
  orphanDelivery,
} from '@agent-comm/spool/copy'
import type { SqlQueryable } from './client.js'

// The PostgreSQL side of `agent-comm db copy` (the neutral rows of `@agent-comm/spool/copy`). The store runs
// the export in one REPEATABLE READ, READ ONLY transaction (one snapshot of every table) and the import in
// one transaction. Rows are written in batches of JSON through `json_populate_recordset`, which maps each
// key to the table's column of that name and type: one statement per batch, whatever the table.

/** Rows per INSERT statement: a batch's JSON stays a few MB for messages of ordinary size. */
const BATCH = 500

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** The SQL names of the neutral message fields (a field's name is its column's, in camel case). */
const MESSAGE_COLUMNS = {
  id: 'id',
  fromAgent: 'from_agent',
  toAgent: 'to_agent',
  subject: 'subject',
  body: 'body',
  priority: 'priority',
  conversationId: 'conversation_id',
  replyTo: 'reply_to',
  ttlHours: 'ttl_hours',
  payload: 'payload',
  metadata: 'metadata',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
  heldUntil: 'held_until',
  heldMaxAttempts: 'held_max_attempts',
} as const

const DELIVERY_COLUMNS = {
  recipient: 'recipient',
  status: 'status',
  priority: 'priority',
  attempt: 'attempt',
  maxAttempts: 'max_attempts',
  availableAt: 'available_at',
  leaseUntil: 'lease_until',
  receipt: 'receipt',
  expiresAt: 'expires_at',
  lastError: 'last_error',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  ackedAt: 'acked_at',
} as const

const KEY_COLUMNS = {
  sender: 'sender',
  key: 'key',
  messageId: 'message_id',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
} as const

/** `"column" AS "field", …` for a field → column map, each column prefixed with `alias.` when given. */
function selectList(columns: Readonly<Record<string, string>>, alias = ''): string {
  return Object.entries(columns)
    .map(([field, column]) => `${alias}${quote(column)} AS ${quote(field)}`)
    .join(', ')
}

/** Reads every copied row of `schema` (the caller holds a REPEATABLE READ transaction: one snapshot). */
export async function exportPostgresRows(
  tx: SqlQueryable,
  schema: string,
  sections: readonly CopySection[],
  location: string,
): Promise<DatabaseRows> {
  const s = quote(schema)
  const messages = checkRows(
    CopiedMessageSchema,
    await tx.query(`SELECT ${selectList(MESSAGE_COLUMNS)} FROM ${s}.messages ORDER BY seq`),
    'messages',
    location,
  )
  // No foreign key holds a delivery to its message on PostgreSQL (see schema.ts): one without is refused.
  const [orphan] = await tx.query<{ seq: number }>(
    `SELECT d.message_seq AS seq FROM ${s}.deliveries d
     WHERE NOT EXISTS (SELECT 1 FROM ${s}.messages m WHERE m.seq = d.message_seq) LIMIT 1`,
  )
  if (orphan !== undefined) throw orphanDelivery(location, `seq ${orphan.seq}`)
  const deliveries = checkRows(
    CopiedDeliverySchema,
    await tx.query(
      `SELECT m.id AS "messageId", ${selectList(DELIVERY_COLUMNS, 'd.')}
       FROM ${s}.deliveries d JOIN ${s}.messages m ON m.seq = d.message_seq ORDER BY d.id`,
    ),
    'deliveries',
    location,
  )
  const idempotencyKeys = checkRows(
    CopiedIdempotencyKeySchema,
    await tx.query(
      `SELECT ${selectList(KEY_COLUMNS)} FROM ${s}.idempotency_keys ORDER BY created_at, sender, key`,
    ),
    'idempotency_keys',
    location,
  )
  const copied: DatabaseRows['sections'] = {}
  for (const section of sections) {
    const tables: Record<string, CopiedRow[]> = {}
    for (const table of section.tables) tables[table.name] = await readTable(tx, schema, table, location)
    copied[section.name] = tables
  }
  return { messages, deliveries, idempotencyKeys, sections: copied }
}

async function readTable(
  tx: SqlQueryable,
  schema: string,
  table: CopiedTable,
  location: string,
): Promise<CopiedRow[]> {
  const columns = Object.fromEntries(copiedColumns(table).map(([key, c]) => [key, c.name]))
  const order = orderColumns(table)
    .map((key) => quote(table.columns[key]!.name))
    .join(', ')
  const rows = await tx.query(
    `SELECT ${selectList(columns)} FROM ${quote(schema)}.${quote(table.name)} ORDER BY ${order}`,
  )
  return checkRows(describedRowSchema(table), rows, table.name, location)
}

/**
 * Writes `rows` into `schema` (the caller holds the transaction), refusing (ConflictError) a schema that
 * holds agent-comm data. Messages and deliveries are numbered anew in the order given.
 */
export async function importPostgresRows(
  tx: SqlQueryable,
  schema: string,
  rows: DatabaseRows,
  sections: readonly CopySection[],
  location: string,
): Promise<void> {
  const s = quote(schema)
  for (const table of copiedTableNames(sections)) {
    const [row] = await tx.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${s}.${quote(table)}) AS found`,
    )
    if (row?.found === true) throw destinationNotEmpty(`${location} (schema ${schema})`, table)
  }
  const seqs = new Map<string, number>()
  for (const batch of batches(rows.messages)) {
    const stored = await insertJson<{ id: string; seq: number }>(
      tx,
      schema,
      'messages',
      batch.map((m) => renamed(m, MESSAGE_COLUMNS)),
      Object.values(MESSAGE_COLUMNS),
      'id, seq',
    )
    for (const { id, seq } of stored) seqs.set(id, seq)
  }
  if (seqs.size > 0) {
    // The copied messages are indexed for search later, in bulk, like any send (see searchPending).
    let lo = Number.POSITIVE_INFINITY
    let hi = 0
    for (const seq of seqs.values()) {
      lo = Math.min(lo, seq)
      hi = Math.max(hi, seq)
    }
    await tx.query(`INSERT INTO ${s}.search_pending (lo, hi) VALUES ($1, $2)`, [lo, hi])
  }
  for (const batch of batches(rows.idempotencyKeys)) {
    await insertJson(
      tx,
      schema,
      'idempotency_keys',
      batch.map((k) => renamed(k, KEY_COLUMNS)),
      Object.values(KEY_COLUMNS),
    )
  }
  const deliveryColumns = ['message_seq', ...Object.values(DELIVERY_COLUMNS)]
  for (const batch of batches(rows.deliveries)) {
    const json = batch.map(({ messageId, ...delivery }) => {
      const messageSeq = seqs.get(messageId)
      if (messageSeq === undefined) throw orphanDelivery('the copied rows', messageId)
      return { message_seq: messageSeq, ...renamed(delivery, DELIVERY_COLUMNS) }
    })
    await insertJson(tx, schema, 'deliveries', json, deliveryColumns)
  }
  for (const section of sections) {
    for (const table of section.tables) {
      const columns = copiedColumns(table)
      const names = Object.fromEntries(columns.map(([key, c]) => [key, c.name]))
      for (const batch of batches(rows.sections[section.name]?.[table.name] ?? [])) {
        await insertJson(
          tx,
          schema,
          table.name,
          batch.map((row) => renamed(row, names)),
          columns.map(([, c]) => c.name),
        )
      }
    }
  }
}

/** `rows` in slices of {@link BATCH}. */
function* batches<T>(rows: readonly T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += BATCH) yield rows.slice(i, i + BATCH)
}

/** A row keyed by column name instead of field name (fields the map does not name are dropped). */
function renamed(row: object, columns: Readonly<Record<string, string>>): Record<string, unknown> {
  const values = row as Record<string, unknown>
  return Object.fromEntries(Object.entries(columns).map(([field, column]) => [column, values[field] ?? null]))
}

/**
 * Inserts JSON rows keyed by column name into `table`, in array order (WITH ORDINALITY: generated keys
 * follow it), returning `returning` of each row when asked.
 */
function insertJson<R extends Record<string, unknown>>(
  tx: SqlQueryable,
  schema: string,
  table: string,
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  returning?: string,
): Promise<R[]> {
  const target = `${quote(schema)}.${quote(table)}`
  const list = columns.map(quote).join(', ')
  return tx.query<R>(
    `INSERT INTO ${target} (${list})
     SELECT ${list} FROM json_populate_recordset(NULL::${target}, $1::json) WITH ORDINALITY AS r
     ORDER BY r.ordinality${returning === undefined ? '' : ` RETURNING ${returning}`}`,
    [JSON.stringify(rows)],
  )
}
