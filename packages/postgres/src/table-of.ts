import type {
  ColumnDescription,
  DescribedColumn,
  EnumValues,
  TableDescription,
} from '@agent-comm/spool/table-description'
import {
  type DescribedColumnBuilder,
  describedTable,
  type TableDialect,
} from '@agent-comm/spool/table-description'
import { type SQL, sql } from 'drizzle-orm'
import {
  bigint,
  bigserial,
  boolean,
  type IndexBuilder,
  index,
  integer,
  type PgBigInt53BuilderInitial,
  type PgBigSerial53BuilderInitial,
  type PgBooleanBuilderInitial,
  type PgColumn,
  type PgColumnBuilderBase,
  type PgIntegerBuilderInitial,
  type PgSchema,
  type PgTextBuilderInitial,
  type PrimaryKeyBuilder,
  primaryKey,
  text,
} from 'drizzle-orm/pg-core'

/** The drizzle builder a description's kind starts from on PostgreSQL. */
type BaseBuilder<C extends ColumnDescription> = C['kind'] extends 'text'
  ? PgTextBuilderInitial<C['name'], EnumValues<C>>
  : C['kind'] extends 'integer'
    ? PgIntegerBuilderInitial<C['name']>
    : C['kind'] extends 'boolean'
      ? PgBooleanBuilderInitial<C['name']>
      : C['kind'] extends 'serial'
        ? PgBigSerial53BuilderInitial<C['name']>
        : PgBigInt53BuilderInitial<C['name']>

/** `B` generated always as identity for a `rowid` column, by drizzle's own method type. */
type WithIdentity<B, C> = C extends { kind: 'rowid' }
  ? B extends { generatedAlwaysAsIdentity(): infer R }
    ? R
    : never
  : B

/** The drizzle column builder of a described column on PostgreSQL. */
export type PgColumnOf<C extends ColumnDescription> = WithIdentity<DescribedColumn<BaseBuilder<C>, C>, C>

interface Builder extends DescribedColumnBuilder {
  primaryKey(): this
  generatedAlwaysAsIdentity(): this
}

const pg: TableDialect<Builder, PgColumn, IndexBuilder | PrimaryKeyBuilder> = {
  base(c) {
    if (c.kind === 'text')
      return (c.enum ? text(c.name, { enum: [...c.enum] }) : text(c.name)) as unknown as Builder
    if (c.kind === 'integer') return integer(c.name) as unknown as Builder
    if (c.kind === 'boolean') return boolean(c.name) as unknown as Builder
    if (c.kind === 'serial') return bigserial(c.name, { mode: 'number' }) as unknown as Builder
    return bigint(c.name, { mode: 'number' }) as unknown as Builder
  },
  // `serial` is a `bigserial` key; `rowid` a `bigint` key generated always as identity.
  key: (builder, c) =>
    c.kind === 'rowid' ? builder.primaryKey().generatedAlwaysAsIdentity() : builder.primaryKey(),
  primaryKey: (columns) => primaryKey({ columns }),
  index: (name, columns, described) =>
    index(name).on(
      ...(columns.map((column, i) => (described[i]?.bytewise ? sql`${column} COLLATE "C"` : column)) as [
        PgColumn | SQL,
        ...(PgColumn | SQL)[],
      ]),
    ),
}

/**
 * The PostgreSQL table of a description, in `schema`: its columns, primary key and indexes with drizzle's
 * exact types, and any `options.extra` columns only this dialect has; `options.referenced` holds the built tables its
 * foreign keys point at, by SQL name.
 */
export function pgTableOf<
  TName extends string,
  TColumns extends Record<string, ColumnDescription>,
  TExtra extends Record<string, PgColumnBuilderBase> = Record<never, never>,
>(
  schema: PgSchema,
  table: TableDescription<TName, TColumns>,
  options: { extra?: TExtra; referenced?: Readonly<Record<string, object>> } = {},
) {
  const { columns, extras } = describedTable(table, pg, options.referenced)
  return schema.table(
    table.name,
    { ...columns, ...options.extra } as unknown as {
      [K in keyof TColumns]: PgColumnOf<TColumns[K]>
    } & TExtra,
    extras,
  )
}
