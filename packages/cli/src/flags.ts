import {
  DEFAULT_CLAIM_LIMIT,
  DEFAULT_LIST_LIMIT,
  MAX_CLAIM_LIMIT,
  MAX_LIST_LIMIT,
  MAX_POLL_WAIT_MS,
  MAX_TIMER_MS,
} from '@agent-comm/protocol/bounds'
import { Errors, Flags } from '@oclif/core'
import { parseDuration, parseSince } from './durations.js'

// Custom flags validate their value while oclif parses, so a bad value is a usage error (exit 2) that
// names the flag, before any database is opened.

// The bounds come from the protocol's zod-free subpath, so flags are checked before the library (and zod)
// is loaded (startup time); numeric-bounds.test.ts checks that they match the library's own limits.

/** Longest lease, in seconds: the protocol's LeaseSecondsSchema maximum (7 days). */
export { DEFAULT_LEASE_SECONDS, MAX_LEASE_SECONDS } from '@agent-comm/protocol/bounds'

/** Longest time limit, in seconds: Node's timers hold at most 2^31-1 ms (bridge's MAX_TIMER_MS). */
export const MAX_TIMEOUT_SECONDS = Math.floor(MAX_TIMER_MS / 1000)

/** Longest wait of one poll, in seconds (`poll --wait`, `bridge --interval`; bridge's MAX_INTERVAL_MS). */
export const MAX_WAIT_SECONDS = MAX_POLL_WAIT_MS / 1000

/** A number of seconds, fractions allowed, at least `min` (default 0) and at most `max` (if given). */
export function secondsFlag(options: {
  description: string
  min?: number
  max?: number
  dependsOn?: string[]
}) {
  const min = options.min ?? 0
  const max = options.max ?? Number.POSITIVE_INFINITY
  return Flags.custom<number>({
    description: options.description,
    helpValue: '<seconds>',
    dependsOn: options.dependsOn,
    parse: async (input) => {
      const value = Number(input)
      if (input.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
        const range = max === Number.POSITIVE_INFINITY ? `≥ ${min}` : `from ${min} to ${max}`
        throw new Errors.CLIError(`expected a number of seconds ${range}, got '${input}'`)
      }
      return value
    },
  })()
}

/** A number greater than zero and at most `max` (if given), e.g. hours for --ttl-hours. */
export function positiveNumberFlag(options: { description: string; helpValue: string; max?: number }) {
  const max = options.max ?? Number.POSITIVE_INFINITY
  return Flags.custom<number>({
    description: options.description,
    helpValue: options.helpValue,
    parse: async (input) => {
      const value = Number(input)
      if (input.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) {
        const range = max === Number.POSITIVE_INFINITY ? '' : ` up to ${max}`
        throw new Errors.CLIError(`expected a positive number${range}, got '${input}'`)
      }
      return value
    },
  })()
}

/** A duration such as `30m`, `12h` or `7d`, parsed to milliseconds. */
export function durationFlag(options: { description: string }) {
  return Flags.custom<number>({
    description: options.description,
    helpValue: '<duration>',
    parse: async (input) => {
      const ms = parseDuration(input)
      if (ms === undefined)
        throw new Errors.CLIError(`expected a duration like 30m, 12h or 7d, got '${input}'`)
      return ms
    },
  })()
}

/** A point in time: an ISO-8601 date or date-time, or a duration ago (`2h`, `30m`, `7d`). */
export function sinceFlag(options: { description: string }) {
  return Flags.custom<Date>({
    description: options.description,
    helpValue: '<time|duration>',
    parse: async (input) => {
      const since = parseSince(input, Date.now())
      if (since === undefined) {
        throw new Errors.CLIError(
          `expected an ISO time (2026-02-03T14:30:00Z) or a duration ago (2h, 30m, 7d), got '${input}'`,
        )
      }
      return since
    },
  })()
}

/** A JSON value given on the command line; its shape is checked by the command. */
export function jsonFlag(options: { description: string; helpValue?: string }) {
  return Flags.custom<unknown>({
    description: options.description,
    helpValue: options.helpValue ?? '<json>',
    parse: async (input) => {
      try {
        return JSON.parse(input) as unknown
      } catch (error) {
        throw new Errors.CLIError(`not valid JSON (${(error as Error).message})`)
      }
    },
  })()
}

/** An integer of at least 1 and at most `max`. */
export function limitFlag(options: { description: string; max: number; default?: number }) {
  return Flags.integer({
    description: options.description,
    min: 1,
    max: options.max,
    default: options.default,
  })
}

/** `--limit` of a claim: 1 to 1000, the library's 10 when absent; `what` starts the description. */
export function claimLimitFlag(what: string) {
  return limitFlag({
    description: `${what} (1-${MAX_CLAIM_LIMIT}, default ${DEFAULT_CLAIM_LIMIT})`,
    max: MAX_CLAIM_LIMIT,
  })
}

/**
 * `--limit` of a listing: 1 to 1000, the library's 50 when absent; `what` starts the description, which
 * names the range too with `showRange`.
 */
export function listLimitFlag(what: string, options: { showRange?: boolean } = {}) {
  const range = options.showRange === true ? `1-${MAX_LIST_LIMIT}, ` : ''
  return limitFlag({ description: `${what} (${range}default ${DEFAULT_LIST_LIMIT})`, max: MAX_LIST_LIMIT })
}

/** `--idempotency-key`: what a retry with the same key does is the command's `description`. */
export function idempotencyKeyFlag(description: string) {
  return Flags.string({ description, helpValue: '<key>' })
}
