import { z } from 'zod'
import { ValidationError } from './errors.js'

/** What a free-text field says when it holds NUL, and what to do about it. */
export const NUL_CHARACTER_MESSAGE =
  'must not contain NUL characters (U+0000): remove them, or encode binary data (e.g. as base64)'

/** A string without NUL; a pattern rather than a refinement, so JSON Schema and OpenAPI show the rule. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the one character this pattern refuses.
const NO_NUL = /^[^\u0000]*$/

/**
 * A string of free text that agent-comm stores (a message body or subject, a nack reason, an agent's
 * device): any characters but NUL (U+0000), and valid Unicode (no lone UTF-16 surrogate, which UTF-8
 * storage silently turns into U+FFFD, so the stored text would not be what was sent). PostgreSQL's `text` cannot hold NUL and SQLite can, so it is
 * refused up front, the same on every store and at every edge, as a `VALIDATION` error naming the field —
 * never a `STORAGE` error on PostgreSQL only. JSON values (payload data, metadata) are stored as JSON text,
 * where NUL is escaped, so they may hold it.
 */
export function freeText(params?: Parameters<typeof z.string>[0]): z.ZodString {
  // One `.check(…)` with every check, not a chain: each chained `.regex()`, `.min()` or `.refine()` makes a
  // whole new schema (about 30 µs each while a process starts), and the protocol's schemas are built when
  // it is imported — by every `agent-comm send`. The schemas here and in the other files are written so.
  return z
    .string(params)
    .check(z.regex(NO_NUL, NUL_CHARACTER_MESSAGE), z.refine(isWellFormed, LONE_SURROGATE_MESSAGE))
}

/** What a free-text field says when it holds a lone UTF-16 surrogate. */
export const LONE_SURROGATE_MESSAGE =
  'must be valid Unicode: it holds a lone UTF-16 surrogate (U+D800–U+DFFF), which no store keeps (it would become U+FFFD, and a retry of the same message would no longer match)'

/** Whether `text` has no lone surrogate (stored as UTF-8, it would be replaced with U+FFFD). */
function isWellFormed(text: string): boolean {
  // ES2024's String.prototype.isWellFormed (Node ≥ 20), beyond the ES2023 library the project compiles with.
  return (text as string & { isWellFormed(): boolean }).isWellFormed()
}

/**
 * Refuses `value` when it holds NUL, with {@link freeText}'s message and no schema: for a hot path that
 * takes text it did not parse (an ack's receipt), where building and running a schema per call would cost.
 */
export function assertNoNul(value: string, field: string): void {
  if (value.includes('\u0000')) {
    throw new ValidationError(`Invalid ${field}: ${NUL_CHARACTER_MESSAGE}`, [
      { path: field, message: NUL_CHARACTER_MESSAGE },
    ])
  }
}
