import { z } from 'zod'
import { Limits, utf8Length } from './limits.js'

/** A limit of {@link Limits} that a free-form JSON value can break. */
export type JsonLimit = 'jsonMaxDepth' | 'jsonMaxBytes' | 'jsonMaxKeys'

/** Which JSON limit a value breaks, and a message that names it. */
export interface JsonLimitBreach {
  limit: JsonLimit
  message: string
}

const TOO_DEEP: JsonLimitBreach = {
  limit: 'jsonMaxDepth',
  message: `is nested more than ${Limits.jsonMaxDepth} levels deep (JSON depth limit jsonMaxDepth: at most ${Limits.jsonMaxDepth} levels of arrays and objects)`,
}
const TOO_LARGE: JsonLimitBreach = {
  limit: 'jsonMaxBytes',
  message: `is larger than ${Limits.jsonMaxBytes} bytes as JSON (JSON size limit jsonMaxBytes: 1 MiB)`,
}
const TOO_MANY_KEYS: JsonLimitBreach = {
  limit: 'jsonMaxKeys',
  message: `has more than ${Limits.jsonMaxKeys} object keys in all (JSON key limit jsonMaxKeys: ${Limits.jsonMaxKeys})`,
}

/** Characters `JSON.stringify` escapes (quote, backslash, control characters) or may (surrogates). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON.stringify escapes.
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/

/** Bytes of a string as JSON text: quoted and escaped as `JSON.stringify` writes it. */
function jsonStringBytes(text: string): number {
  // Most strings need no escaping: count them without copying them.
  return ESCAPED.test(text) ? utf8Length(JSON.stringify(text)) : utf8Length(text) + 2
}

/**
 * Checks a would-be JSON value against the protocol's JSON limits ({@link Limits} `jsonMaxDepth`,
 * `jsonMaxBytes`, `jsonMaxKeys`) and returns the first one it breaks, or undefined. The walk keeps its own
 * stack instead of recursing, and stops as soon as a limit is passed, so any input — ten thousand levels
 * deep, or a cycle built in memory — costs at most about `jsonMaxBytes` steps and never overflows the call
 * stack. It does not check that the value is JSON (zod does that next, safely, once depth is bounded);
 * values JSON cannot hold count as nothing.
 */
export function checkJsonLimits(value: unknown): JsonLimitBreach | undefined {
  const values: unknown[] = [value]
  const depths: number[] = [0]
  let bytes = 0
  let keys = 0
  while (values.length > 0) {
    const current = values.pop()
    const depth = depths.pop() as number
    switch (typeof current) {
      case 'string':
        bytes += jsonStringBytes(current)
        break
      case 'number':
        bytes += Number.isFinite(current) ? String(current).length : 4
        break
      case 'boolean':
        bytes += current ? 4 : 5
        break
      case 'object': {
        if (current === null) {
          bytes += 4
          break
        }
        if (depth >= Limits.jsonMaxDepth) return TOO_DEEP
        // Brackets and commas first: a huge array or object passes the size limit before its items are visited.
        if (Array.isArray(current)) {
          bytes += 2 + Math.max(0, current.length - 1)
          if (bytes > Limits.jsonMaxBytes) return TOO_LARGE
          for (let i = current.length - 1; i >= 0; i--) {
            values.push(current[i])
            depths.push(depth + 1)
          }
          break
        }
        const names = Object.keys(current)
        keys += names.length
        if (keys > Limits.jsonMaxKeys) return TOO_MANY_KEYS
        bytes += 2 + Math.max(0, names.length - 1)
        for (let i = names.length - 1; i >= 0; i--) {
          const name = names[i] as string
          // The key, quoted, and its colon.
          bytes += jsonStringBytes(name) + 1
          values.push((current as Record<string, unknown>)[name])
          depths.push(depth + 1)
        }
        break
      }
      default:
        break
    }
    if (bytes > Limits.jsonMaxBytes) return TOO_LARGE
  }
  return undefined
}

/**
 * Wraps a JSON schema so that {@link checkJsonLimits} runs first and an over-limit value fails with one
 * issue naming the limit, before the (recursive) inner schema ever sees it. JSON Schema cannot express a
 * total depth, size or key count, so the generated schema carries them as `x-agent-comm-json-limits`.
 */
export function boundedJson<T extends z.ZodType>(schema: T) {
  return z
    .preprocess((value: z.input<T>, ctx) => {
      const breach = checkJsonLimits(value)
      if (breach !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: breach.message,
          params: { limit: breach.limit },
          input: value,
        })
      }
      return value
    }, schema)
    .meta({
      description: `Free-form JSON: at most ${Limits.jsonMaxDepth} levels of arrays and objects, ${Limits.jsonMaxBytes} bytes as compact JSON (UTF-8), ${Limits.jsonMaxKeys} object keys in all.`,
      'x-agent-comm-json-limits': {
        maxDepth: Limits.jsonMaxDepth,
        maxBytes: Limits.jsonMaxBytes,
        maxKeys: Limits.jsonMaxKeys,
      },
    })
}
