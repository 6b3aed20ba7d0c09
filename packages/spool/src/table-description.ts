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
  /**
   * A `text` column ordered bytewise (a page cursor over it: both dialects list in the same order). SQLite
   * compares TEXT bytewise already; PostgreSQL indexes it `COLLATE "C"`, so a query ordering by
   * `col COLLATE "C"` can use the index.
   */
  readonly bytewise?: true
  /** A foreign key: the column (property name) of another described table, by that table's SQL name. */
  readonly references?: { readonly table: string; readonly column: string; readonly onDelete?: 'cascade' }
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

/** The values of a described `text` column, as drizzle's builders type them. */
export type EnumValues<C extends ColumnDescription> = C['enum'] extends readonly [string, ...string[]]
  ? Mutable<C['enum']>
  : [string, ...string[]]

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

// A described column's modifiers, typed by the return types of drizzle's own methods on the dialect's
// builder `B`, so a built column has exactly the type the same calls written by hand would give.

type WithNotNull<B, C> = C extends { notNull: true } ? (B extends { notNull(): infer R } ? R : never) : B
type WithPrimaryKey<B, C> = C extends { primaryKey: true } | { kind: 'serial' | 'rowid' }
  ? B extends { primaryKey(): infer R }
    ? R
    : never
  : B
type WithDefault<B, C> = C extends { default: number }
  ? B extends { default(value: never): infer R }
    ? R
    : never
  : B

/**
 * The type of a described column built in a dialect whose builder for the column's kind is `B`: made not
 * null, the primary key (generated ids always are) and given its default as the description says.
 */
export type DescribedColumn<B, C extends ColumnDescription> = WithDefault<
  WithPrimaryKey<WithNotNull<B, C>, C>,
  C
>

/** The builder calls a description makes on a column, whatever the dialect and kind. */
export interface DescribedColumnBuilder {
  notNull(): this
  unique(): this
  default(value: number): this
  references(ref: () => unknown, actions?: { onDelete?: 'cascade' }): this
}

/**
 * What a dialect supplies to build described tables: the builder a column's kind starts from, how it
 * makes a column the primary key (generated ids included), and its composite primary keys and indexes.
 */
export interface TableDialect<B extends DescribedColumnBuilder, TColumn, TExtra> {
  base(column: ColumnDescription): B
  key(builder: B, column: ColumnDescription): B
  primaryKey(columns: [TColumn, ...TColumn[]]): TExtra
  /** An index over `columns`; `described` holds their descriptions, in the same order. */
  index(name: string, columns: [TColumn, ...TColumn[]], described: readonly ColumnDescription[]): TExtra
}

/**
 * A described table in `dialect`: its column builders by property name (`referenced` holds the built
 * tables its foreign keys point at, by SQL name), and `extras`, its composite primary key and indexes
 * over the built columns, for the dialect's table function.
 */
export function describedTable<
  B extends DescribedColumnBuilder,
  TColumn,
  TExtra,
  TColumns extends Record<string, ColumnDescription>,
>(
  table: TableDescription<string, TColumns>,
  dialect: TableDialect<B, TColumn, TExtra>,
  referenced: Readonly<Record<string, object>> = {},
): { columns: Record<string, B>; extras(built: object): TExtra[] } {
  const columnOf = (c: ColumnDescription): B => {
    let column = dialect.base(c)
    if (c.notNull) column = column.notNull()
    if (c.primaryKey || c.kind === 'serial' || c.kind === 'rowid') column = dialect.key(column, c)
    if (c.unique) column = column.unique()
    if (c.default !== undefined) column = column.default(c.default)
    const ref = c.references
    if (ref) {
      const target = referenced[ref.table] as Record<string, unknown> | undefined
      if (target === undefined) throw new Error(`Table '${table.name}' references '${ref.table}', not given`)
      column = column.references(() => target[ref.column], ref.onDelete ? { onDelete: ref.onDelete } : {})
    }
    return column
  }
  const extras = (built: object): TExtra[] => {
    const of = (keys: readonly string[]) =>
      keys.map((key) => (built as Record<string, TColumn>)[key]) as [TColumn, ...TColumn[]]
    return [
      ...(table.primaryKey ? [dialect.primaryKey(of(table.primaryKey))] : []),
      ...Object.entries(table.indexes ?? {}).map(([name, keys]) =>
        dialect.index(
          name,
          of(keys),
          keys.map((key) => table.columns[key] as ColumnDescription),
        ),
      ),
    ]
  }
  return {
    columns: Object.fromEntries(Object.entries(table.columns).map(([k, c]) => [k, columnOf(c)])),
    extras,
  }
}
