import {
  type IndexBuilder,
  index,
  integer,
  type PrimaryKeyBuilder,
  primaryKey,
  type SQLiteBooleanBuilderInitial,
  type SQLiteColumn,
  type SQLiteIntegerBuilderInitial,
  type SQLiteTextBuilderInitial,
  sqliteTable,
  text,
} from 'drizzle-orm/sqlite-core'
import type {
  ColumnDescription,
  DescribedColumn,
  EnumValues,
  TableDescription,
} from '../table-description.js'
import { type DescribedColumnBuilder, describedTable, type TableDialect } from '../table-description.js'

/** The drizzle builder a description's kind starts from on SQLite. */
type BaseBuilder<C extends ColumnDescription> = C['kind'] extends 'text'
  ? SQLiteTextBuilderInitial<C['name'], EnumValues<C>, number | undefined>
  : C['kind'] extends 'boolean'
    ? SQLiteBooleanBuilderInitial<C['name']>
    : SQLiteIntegerBuilderInitial<C['name']>

/** The drizzle column builder of a described column on SQLite. */
export type SqliteColumnOf<C extends ColumnDescription> = DescribedColumn<BaseBuilder<C>, C>

interface Builder extends DescribedColumnBuilder {
  primaryKey(config?: { autoIncrement?: boolean }): this
}

const sqlite: TableDialect<Builder, SQLiteColumn, IndexBuilder | PrimaryKeyBuilder> = {
  base(c) {
    if (c.kind === 'text')
      return (c.enum ? text(c.name, { enum: [...c.enum] }) : text(c.name)) as unknown as Builder
    if (c.kind === 'boolean') return integer(c.name, { mode: 'boolean' }) as unknown as Builder
    return integer(c.name) as unknown as Builder
  },
  // `serial` is SQLite's `integer primary key autoincrement`; `rowid` the plain rowid alias.
  key: (builder, c) =>
    c.kind === 'serial' ? builder.primaryKey({ autoIncrement: true }) : builder.primaryKey(),
  primaryKey: (columns) => primaryKey({ columns }),
  index: (name, columns) => index(name).on(...columns),
}

/**
 * The SQLite table of a description: its columns, primary key and indexes, with drizzle's exact types;
 * `options.referenced` holds the built tables its foreign keys point at, by SQL name.
 */
export function sqliteTableOf<TName extends string, TColumns extends Record<string, ColumnDescription>>(
  table: TableDescription<TName, TColumns>,
  options: { referenced?: Readonly<Record<string, object>> } = {},
) {
  const { columns, extras } = describedTable(table, sqlite, options.referenced)
  return sqliteTable(
    table.name,
    columns as unknown as { [K in keyof TColumns]: SqliteColumnOf<TColumns[K]> },
    extras,
  )
}
