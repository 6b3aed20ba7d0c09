import type {
  CopiedDelivery,
  CopiedIdempotencyKey,
  CopiedMessage,
  CopiedRow,
  CopyPlan,
  CopySection,
  RowSink,
  RowSource,
} from '@agent-comm/spool/copy'
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
// the export in one REPEATABLE READ, READ ONLY transaction (one snapshot of every table), reading each table
// through a cursor a batch at a time (FETCH: any order, no key needed, nothing held but the batch), and
// the import in one transaction. Rows are written in batches of JSON through `json_populate_recordset`,
// which maps each key to the table's column of that name and type: one statement per batch, whatever the
// table.

/** Rows per INSERT statement: a batch's JSON stays a few MB for messages of ordinary size. */
const BATCH = 500

/** The export's cursor: one at a time, closed before the next is declared. */
const CURSOR = 'agent_comm_copy'

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

/**
 * Reads `select` through a cursor, `batchRows` rows at a time, handing each batch to `send` (awaited before
 * the next FETCH). The caller holds the transaction a cursor lives in.
 */
async function fetchPages(
  tx: SqlQueryable,
  select: string,
  batchRows: number,
  send: (rows: Record<string, unknown>[], read: number) => Promise<void>,
): Promise<void> {
  await tx.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${select}`)
  let read = 0
  for (;;) {
    const rows = await tx.query(`FETCH FORWARD ${batchRows} FROM ${CURSOR}`)
    if (rows.length > 0) await send(rows, read)
    read += rows.length
    if (rows.length < batchRows) break
  }
  await tx.query(`CLOSE ${CURSOR}`)
}

/**
 * Sends every copied row of `schema` to `sink`, `batchRows` at a time (the caller holds a REPEATABLE READ
 * transaction: one snapshot). `guard` runs each call of the sink (the store marks what it throws as the
 * sink's own, to pass through unchanged).
 */
export async function exportPostgresRows(
  tx: SqlQueryable,
  schema: string,
  sections: readonly CopySection[],
  location: string,
  sink: RowSink,
  batchRows: number,
  guard: (call: () => Promise<void> | void) => Promise<void>,
): Promise<void> {
  const s = quote(schema)
  // No foreign key holds a delivery to its message on PostgreSQL (see schema.ts): one without is refused.
  const [orphan] = await tx.query<{ seq: number }>(
    `SELECT d.message_seq AS seq FROM ${s}.deliveries d
     WHERE NOT EXISTS (SELECT 1 FROM ${s}.messages m WHERE m.seq = d.message_seq) LIMIT 1`,
  )
  if (orphan !== undefined) throw orphanDelivery(location, `seq ${orphan.seq}`)
  const plan: CopyPlan = {}
  for (const section of sections) {
    const tables: Record<string, boolean> = {}
    for (const table of section.tables) {
      const [row] = await tx.query<{ found: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM ${s}.${quote(table.name)}) AS found`,
      )
      tables[table.name] = row?.found === true
    }
    plan[section.name] = tables
  }
  await guard(() => sink.begin(plan))
  await fetchPages(
    tx,
    `SELECT ${selectList(MESSAGE_COLUMNS)} FROM ${s}.messages ORDER BY seq`,
    batchRows,
    (rows, read) =>
      guard(() => sink.messages(checkRows(CopiedMessageSchema, rows, 'messages', location, read))),
  )
  await fetchPages(
    tx,
    `SELECT ${selectList(KEY_COLUMNS)} FROM ${s}.idempotency_keys ORDER BY created_at, sender, key`,
    batchRows,
    (rows, read) =>
      guard(() =>
        sink.idempotencyKeys(checkRows(CopiedIdempotencyKeySchema, rows, 'idempotency_keys', location, read)),
      ),
  )
  await fetchPages(
    tx,
    `SELECT m.id AS "messageId", ${selectList(DELIVERY_COLUMNS, 'd.')}
     FROM ${s}.deliveries d JOIN ${s}.messages m ON m.seq = d.message_seq ORDER BY d.id`,
    batchRows,
    (rows, read) =>
      guard(() => sink.deliveries(checkRows(CopiedDeliverySchema, rows, 'deliveries', location, read))),
  )
  for (const section of sections) {
    for (const table of section.tables) {
      if (plan[section.name]?.[table.name] !== true) continue
      const columns = Object.fromEntries(copiedColumns(table).map(([key, c]) => [key, c.name]))
      const order = orderColumns(table)
        .map((key) => quote(table.columns[key]!.name))
        .join(', ')
      await fetchPages(
        tx,
        `SELECT ${selectList(columns)} FROM ${s}.${quote(table.name)} ORDER BY ${order}`,
        batchRows,
        (rows, read) =>
          guard(() =>
            sink.tableRows(
              section.name,
              table.name,
              checkRows(describedRowSchema(table), rows, table.name, location, read),
            ),
          ),
      )
    }
  }
}

/**
 * Writes the rows `source` sends into `schema` (the caller holds the transaction), refusing (ConflictError)
 * a schema that holds agent-comm data. Messages and deliveries are numbered anew in the order given.
 * `guard` runs each write (the store maps its failures to its own errors before they reach the source).
 */
export async function importPostgresRows(
  tx: SqlQueryable,
  schema: string,
  source: RowSource,
  sections: readonly CopySection[],
  location: string,
  guard: (write: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const s = quote(schema)
  let begun = false
  const begin = async () => {
    for (const table of copiedTableNames(sections)) {
      const [row] = await tx.query<{ found: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM ${s}.${quote(table)}) AS found`,
      )
      if (row?.found === true) throw destinationNotEmpty(`${location} (schema ${schema})`, table)
    }
    begun = true
  }
  // The copied messages are numbered in one run of `seq`: its ends are all the search index needs.
  let lo = Number.POSITIVE_INFINITY
  let hi = 0
  const messages = async (rows: readonly CopiedMessage[]) => {
    for (const batch of batches(rows)) {
      const stored = await insertJson<{ seq: number }>(
        tx,
        schema,
        'messages',
        batch.map((m) => renamed(m, MESSAGE_COLUMNS)),
        Object.values(MESSAGE_COLUMNS),
        'seq',
      )
      for (const { seq } of stored) {
        lo = Math.min(lo, seq)
        hi = Math.max(hi, seq)
      }
    }
  }
  const keys = async (rows: readonly CopiedIdempotencyKey[]) => {
    for (const batch of batches(rows)) {
      await insertJson(
        tx,
        schema,
        'idempotency_keys',
        batch.map((k) => renamed(k, KEY_COLUMNS)),
        Object.values(KEY_COLUMNS),
      )
    }
  }
  const deliveryColumns = ['message_seq', ...Object.values(DELIVERY_COLUMNS)]
  const deliveries = async (rows: readonly CopiedDelivery[]) => {
    for (const batch of batches(rows)) {
      // Each names its message by id: the copy's own `seq` of those of this batch (an index on `id`).
      const ids = [...new Set(batch.map((d) => d.messageId))]
      const found = await tx.query<{ id: string; seq: number }>(
        `SELECT id, seq FROM ${s}.messages WHERE id = ANY($1::text[])`,
        [ids],
      )
      const seqs = new Map(found.map(({ id, seq }) => [id, seq]))
      const json = batch.map(({ messageId, ...delivery }) => {
        const messageSeq = seqs.get(messageId)
        if (messageSeq === undefined) throw orphanDelivery('the copied rows', messageId)
        return { message_seq: messageSeq, ...renamed(delivery, DELIVERY_COLUMNS) }
      })
      await insertJson(tx, schema, 'deliveries', json, deliveryColumns)
    }
  }
  const tableRows = async (sectionName: string, tableName: string, rows: readonly CopiedRow[]) => {
    const table = sections.find((x) => x.name === sectionName)?.tables.find((t) => t.name === tableName)
    if (table === undefined) return
    const columns = copiedColumns(table)
    const names = Object.fromEntries(columns.map(([key, c]) => [key, c.name]))
    for (const batch of batches(rows)) {
      await insertJson(
        tx,
        schema,
        table.name,
        batch.map((row) => renamed(row, names)),
        columns.map(([, c]) => c.name),
      )
    }
  }
  await source({
    begin: () => guard(begin),
    messages: (rows) => guard(() => messages(rows)),
    idempotencyKeys: (rows) => guard(() => keys(rows)),
    deliveries: (rows) => guard(() => deliveries(rows)),
    tableRows: (section, table, rows) => guard(() => tableRows(section, table, rows)),
  })
  // A source with nothing to send still has the destination checked.
  if (!begun) await guard(begin)
  if (hi > 0) {
    // The copied messages are indexed for search later, in bulk, like any send (see searchPending).
    await guard(async () => {
      await tx.query(`INSERT INTO ${s}.search_pending (lo, hi) VALUES ($1, $2)`, [lo, hi])
    })
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
