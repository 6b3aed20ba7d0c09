import type { ColumnDescription, TableDescription } from '@agent-comm/spool/store'
import {
  bigint,
  bigserial,
  boolean,
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
  primaryKey,
  text,
} from 'drizzle-orm/pg-core'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The drizzle builder a description's kind starts from on PostgreSQL. */
type BaseBuilder<C extends ColumnDescription> = C['kind'] extends 'text'
  ? PgTextBuilderInitial<
      C['name'],
      C['enum'] extends readonly [string, ...string[]] ? Mutable<C['enum']> : [string, ...string[]]
    >
  : C['kind'] extends 'integer'
    ? PgIntegerBuilderInitial<C['name']>
    : C['kind'] extends 'boolean'
      ? PgBooleanBuilderInitial<C['name']>
      : C['kind'] extends 'serial'
        ? PgBigSerial53BuilderInitial<C['name']>
        : PgBigInt53BuilderInitial<C['name']>

// The modifiers' types are drizzle's own (the return types of its methods), so a built column has exactly
// the type the same calls written by hand would give.
type WithNotNull<B extends { notNull(): unknown }, C> = C extends { notNull: true }
  ? ReturnType<B['notNull']>
  : B
type WithKey<B extends { primaryKey(): unknown }, C> = C extends
  | { primaryKey: true }
  | { kind: 'serial' | 'rowid' }
  ? ReturnType<B['primaryKey']>
  : B
type WithIdentity<B, C> = C extends { kind: 'rowid' }
  ? B extends { generatedAlwaysAsIdentity(): infer R }
    ? R
    : never
  : B
type WithDefault<B, C> = C extends { default: number }
  ? B extends { default(value: never): infer R }
    ? R
    : never
  : B

/** The drizzle column builder of a described column on PostgreSQL. */
export type PgColumnOf<C extends ColumnDescription> = WithDefault<
  WithIdentity<WithKey<WithNotNull<BaseBuilder<C>, C>, C>, C>,
  C
>

/** The builder calls a description makes, whatever the kind (the exact types are `PgColumnOf`'s). */
interface Builder {
  notNull(): Builder
  primaryKey(): Builder
  generatedAlwaysAsIdentity(): Builder
  unique(): Builder
  default(value: number): Builder
}

function baseOf(c: ColumnDescription): Builder {
  if (c.kind === 'text')
    return (c.enum ? text(c.name, { enum: [...c.enum] }) : text(c.name)) as unknown as Builder
  if (c.kind === 'integer') return integer(c.name) as unknown as Builder
  if (c.kind === 'boolean') return boolean(c.name) as unknown as Builder
  if (c.kind === 'serial') return bigserial(c.name, { mode: 'number' }) as unknown as Builder
  return bigint(c.name, { mode: 'number' }) as unknown as Builder
}

function columnOf(c: ColumnDescription): Builder {
  let column = baseOf(c)
  if (c.notNull) column = column.notNull()
  if (c.primaryKey || c.kind === 'serial' || c.kind === 'rowid') column = column.primaryKey()
  if (c.kind === 'rowid') column = column.generatedAlwaysAsIdentity()
  if (c.unique) column = column.unique()
  if (c.default !== undefined) column = column.default(c.default)
  return column
}

/**
 * The PostgreSQL table of a description, in `schema`: its columns, primary key and indexes with drizzle's
 * exact types, and any `extra` columns only this dialect has.
 */
export function pgTableOf<
  TName extends string,
  TColumns extends Record<string, ColumnDescription>,
  TExtra extends Record<string, PgColumnBuilderBase> = Record<never, never>,
>(schema: PgSchema, table: TableDescription<TName, TColumns>, extra?: TExtra) {
  const columns = {
    ...Object.fromEntries(Object.entries(table.columns).map(([key, column]) => [key, columnOf(column)])),
    ...extra,
  } as unknown as { [K in keyof TColumns]: PgColumnOf<TColumns[K]> } & TExtra
  return schema.table(table.name, columns, (t) => {
    const of = (keys: readonly string[]) =>
      keys.map((key) => (t as unknown as Record<string, PgColumn>)[key]) as [PgColumn, ...PgColumn[]]
    return [
      ...(table.primaryKey ? [primaryKey({ columns: of(table.primaryKey) })] : []),
      ...Object.entries(table.indexes ?? {}).map(([name, keys]) => index(name).on(...of(keys))),
    ]
  })
}
