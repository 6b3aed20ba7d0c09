// A table described once for both storage dialects: its columns (name, kind, nullability, key, default)
// and its indexes. Each dialect turns the description into its drizzle table (`sqliteTableOf` here,
// `pgTableOf` in `@agent-comm/postgres`), so a table that exists on SQLite and on PostgreSQL cannot drift
// between the two: the same columns, the same constraints, the same row type but for the dialect's kinds.

/**
 * What a column holds, in terms both dialects map: `text`; `integer` (32-bit); `epochMs`, a time in ms
 * since the epoch (SQLite `integer`, PostgreSQL `bigint`); `boolean` (SQLite `integer` 0/1, PostgreSQL
 * `boolean`); and the two generated ascending primary keys, `serial` (SQLite `integer primary key
 * autoincrement`, PostgreSQL `bigserial`) and `rowid` (SQLite's rowid alias `integer primary key`,
 * PostgreSQL `bigint generated always as identity`).
 */
export type ColumnKind = 'text' | 'integer' | 'epochMs' | 'boolean' | 'serial' | 'rowid'

/** One column: its SQL name, its kind and its constraints; nullable unless `notNull` or a key. */
export interface ColumnDescription {
  readonly name: string
  readonly kind: ColumnKind
  /** The values a `text` column may hold, for the row type (neither dialect checks them). */
  readonly enum?: readonly [string, ...string[]]
  readonly notNull?: true
  readonly primaryKey?: true
  readonly unique?: true
  /** The default of a numeric column. */
  readonly default?: number
}

/** A table: its SQL name, its columns by property name, a composite primary key and named indexes. */
export interface TableDescription<
  TName extends string = string,
  TColumns extends Record<string, ColumnDescription> = Record<string, ColumnDescription>,
> {
  readonly name: TName
  readonly columns: TColumns
  /** The columns (property names) of a primary key over several columns. */
  readonly primaryKey?: readonly [keyof TColumns & string, ...(keyof TColumns & string)[]]
  /** Indexes by SQL name, each over its columns (property names) in order. */
  readonly indexes?: Readonly<
    Record<string, readonly [keyof TColumns & string, ...(keyof TColumns & string)[]]>
  >
}

/** Describes a table, keeping its names and kinds as literal types for the dialects' builders. */
export function describeTable<
  const TName extends string,
  const TColumns extends Record<string, ColumnDescription>,
>(table: TableDescription<TName, TColumns>): TableDescription<TName, TColumns> {
  return table
}
