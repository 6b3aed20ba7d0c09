/**
 * A row type as `SqlQueryable.query` returns it: an object keyed by column alias. The row readers and
 * summary builders themselves come from `@agent-comm/spool/store`, so both stores read rows alike.
 */
export type Row<T> = T & Record<string, unknown>
