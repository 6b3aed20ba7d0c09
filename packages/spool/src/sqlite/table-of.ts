import {
  index,
  integer,
  primaryKey,
  type SQLiteBooleanBuilderInitial,
  type SQLiteColumn,
  type SQLiteIntegerBuilderInitial,
  type SQLiteTextBuilderInitial,
  sqliteTable,
  text,
} from 'drizzle-orm/sqlite-core'
import type { ColumnDescription, TableDescription } from '../table-description.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The drizzle builder a description's kind starts from on SQLite. */
type BaseBuilder<C extends ColumnDescription> = C['kind'] extends 'text'
  ? SQLiteTextBuilderInitial<
      C['name'],
      C['enum'] extends readonly [string, ...string[]] ? Mutable<C['enum']> : [string, ...string[]],
      number | undefined
    >
  : C['kind'] extends 'boolean'
    ? SQLiteBooleanBuilderInitial<C['name']>
    : SQLiteIntegerBuilderInitial<C['name']>

// The modifiers' types are drizzle's own (the return types of its methods), so a built column has exactly
// the type the same calls written by hand would give.
type WithKey<B extends { primaryKey(): unknown }, C> = C extends
  | { primaryKey: true }
  | { kind: 'serial' | 'rowid' }
  ? ReturnType<B['primaryKey']>
  : B
type WithNotNull<B extends { notNull(): unknown }, C> = C extends { notNull: true }
  ? ReturnType<B['notNull']>
  : B
type WithDefault<B, C> = C extends { default: number }
  ? B extends { default(value: never): infer R }
    ? R
    : never
  : B

/** The drizzle column builder of a described column on SQLite. */
export type SqliteColumnOf<C extends ColumnDescription> = WithDefault<
  WithKey<WithNotNull<BaseBuilder<C>, C>, C>,
  C
>

/** The builder calls a description makes, whatever the kind (the exact types are `SqliteColumnOf`'s). */
interface Builder {
  notNull(): Builder
  primaryKey(config?: { autoIncrement?: boolean }): Builder
  unique(): Builder
  default(value: number): Builder
}

function baseOf(c: ColumnDescription): Builder {
  if (c.kind === 'text')
    return (c.enum ? text(c.name, { enum: [...c.enum] }) : text(c.name)) as unknown as Builder
  if (c.kind === 'boolean') return integer(c.name, { mode: 'boolean' }) as unknown as Builder
  return integer(c.name) as unknown as Builder
}

function columnOf(c: ColumnDescription): Builder {
  let column = baseOf(c)
  if (c.notNull) column = column.notNull()
  if (c.kind === 'serial') column = column.primaryKey({ autoIncrement: true })
  else if (c.primaryKey || c.kind === 'rowid') column = column.primaryKey()
  if (c.unique) column = column.unique()
  if (c.default !== undefined) column = column.default(c.default)
  return column
}

/** The SQLite table of a description: its columns, primary key and indexes, with drizzle's exact types. */
export function sqliteTableOf<TName extends string, TColumns extends Record<string, ColumnDescription>>(
  table: TableDescription<TName, TColumns>,
) {
  const columns = Object.fromEntries(
    Object.entries(table.columns).map(([key, column]) => [key, columnOf(column)]),
  ) as unknown as { [K in keyof TColumns]: SqliteColumnOf<TColumns[K]> }
  return sqliteTable(table.name, columns, (t) => {
    const of = (keys: readonly string[]) =>
      keys.map((key) => (t as unknown as Record<string, SQLiteColumn>)[key]) as [
        SQLiteColumn,
        ...SQLiteColumn[],
      ]
    return [
      ...(table.primaryKey ? [primaryKey({ columns: of(table.primaryKey) })] : []),
      ...Object.entries(table.indexes ?? {}).map(([name, keys]) => index(name).on(...of(keys))),
    ]
  })
}
