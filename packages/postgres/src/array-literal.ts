/**
 * PostgreSQL array literals (`{"a","b",NULL}`, `{1,2,3}`) written in one pass, for the column arrays of a
 * batched send. node-postgres serializes an array parameter element by element (a call, a type check and two
 * regular-expression replaces each): for the 19 columns of a 1,000-message batch that was about 12 ms of
 * JavaScript per batch, the largest single cost of `sendBatch` on the client (`--cpu-prof`,
 * bench/store.bench.mjs). A literal passed as a string is the text form PostgreSQL parses anyway.
 */

const NEEDS_ESCAPE = /["\\]/

/**
 * A `text[]` literal: every element double-quoted (so braces, commas, spaces and the word NULL are read as
 * text), `"` and `\` escaped with a backslash; `null` is the unquoted NULL.
 */
export function textArrayLiteral(values: readonly (string | null)[]): string {
  let out = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ','
    const value = values[i]
    if (value === null || value === undefined) {
      out += 'NULL'
    } else if (NEEDS_ESCAPE.test(value)) {
      out += `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
    } else {
      out += `"${value}"`
    }
  }
  return `${out}}`
}

/** A numeric array literal (`int`, `bigint`, `smallint`, `float8`): finite numbers only, as the stores keep. */
export function numberArrayLiteral(values: readonly number[]): string {
  return `{${values.join(',')}}`
}
