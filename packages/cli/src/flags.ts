import {
  DEFAULT_CLAIM_LIMIT,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_LIST_LIMIT,
  MAX_CLAIM_LIMIT,
  MAX_LEASE_SECONDS,
  MAX_LIST_LIMIT,
  MAX_POLL_WAIT_MS,
  MAX_PORT,
  MAX_TIMER_MS,
} from '@agent-comm/protocol/bounds'
import { Errors, Flags, type Interfaces } from '@oclif/core'
import { parseDuration, parseSince } from './durations.js'

// Custom flags validate their value while oclif parses, so a bad value is a usage error (exit 2) that
// names the flag, before any database is opened.

// The bounds come from the protocol's zod-free subpath, so flags are checked before the library (and zod)
// is loaded (startup time); numeric-bounds.test.ts checks that they match the library's own limits.

/**
 * The protocol's bounds the flags are checked against: the longest lease (7 days), delay of a send or a
 * nack (a year), TTL (ten years) and grace period of a secret's rotation (a year).
 */
export {
  DEFAULT_LEASE_SECONDS,
  MAX_DELAY_SECONDS,
  MAX_LEASE_SECONDS,
  MAX_ROTATION_GRACE_SECONDS,
  MAX_TTL_HOURS,
} from '@agent-comm/protocol/bounds'

/** Longest time limit, in seconds: Node's timers hold at most 2^31-1 ms (bridge's MAX_TIMER_MS). */
export const MAX_TIMEOUT_SECONDS = Math.floor(MAX_TIMER_MS / 1000)

/** Longest wait of one poll, in seconds (`poll --wait`, `bridge --interval`; bridge's MAX_INTERVAL_MS). */
export const MAX_WAIT_SECONDS = MAX_POLL_WAIT_MS / 1000

/**
 * A flag's `parse`: `read` turns the input into a value, or into undefined when it is bad, which oclif then
 * reports as a usage error naming the flag, "expected <expected>, got '<input>'".
 */
function checked<T>(expected: string, read: (input: string) => T | undefined): (input: string) => Promise<T> {
  return async (input) => {
    const value = read(input)
    if (value === undefined) throw new Errors.CLIError(`expected ${expected}, got '${input}'`)
    return value
  }
}

/**
 * A number written in decimal: digits with an optional sign, fraction and exponent. `Number` alone also
 * takes `0x10`, `0b11` and `0o7` (so `--delay 0x10` was 16 s), which nobody means for seconds or hours.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i

/** `input` as a finite decimal number that `accepts` takes, else undefined (an empty input is not 0). */
function numberWithin(input: string, accepts: (value: number) => boolean): number | undefined {
  if (!DECIMAL.test(input.trim())) return undefined
  const value = Number(input)
  return !Number.isFinite(value) || !accepts(value) ? undefined : value
}

/** A number of seconds, fractions allowed, at least `min` (default 0) and at most `max` (if given). */
export function secondsFlag(options: {
  description: string
  min?: number
  max?: number
  dependsOn?: string[]
}) {
  const min = options.min ?? 0
  const max = options.max ?? Number.POSITIVE_INFINITY
  const range = max === Number.POSITIVE_INFINITY ? `≥ ${min}` : `from ${min} to ${max}`
  return Flags.custom<number>({
    description: options.description,
    helpValue: '<seconds>',
    dependsOn: options.dependsOn,
    parse: checked(`a number of seconds ${range}`, (input) =>
      numberWithin(input, (value) => value >= min && value <= max),
    ),
  })()
}

/**
 * The shortest lease a command takes, in seconds: the protocol allows 1 ms for programs, but a lease
 * shorter than a second runs out before a person, or a command the bridge runs, can act on the message.
 */
export const MIN_CLI_LEASE_SECONDS = 1

/** `--lease-seconds` of `poll`, `extend` and `bridge`: from {@link MIN_CLI_LEASE_SECONDS} to the protocol's longest. */
export function leaseSecondsFlag(what: string) {
  return secondsFlag({
    description: `${what}, from ${MIN_CLI_LEASE_SECONDS} to ${MAX_LEASE_SECONDS} (7 days; default: AGENT_COMM_LEASE_SECONDS or ${DEFAULT_LEASE_SECONDS})`,
    min: MIN_CLI_LEASE_SECONDS,
    max: MAX_LEASE_SECONDS,
  })
}

/** A number greater than zero and at most `max` (if given), e.g. hours for --ttl-hours. */
export function positiveNumberFlag(options: { description: string; helpValue: string; max?: number }) {
  const max = options.max ?? Number.POSITIVE_INFINITY
  const range = max === Number.POSITIVE_INFINITY ? '' : ` up to ${max}`
  return Flags.custom<number>({
    description: options.description,
    helpValue: options.helpValue,
    parse: checked(`a positive number${range}`, (input) =>
      numberWithin(input, (value) => value > 0 && value <= max),
    ),
  })()
}

/** A duration such as `30m`, `12h` or `7d`, parsed to milliseconds. */
export function durationFlag(options: { description: string }) {
  return Flags.custom<number>({
    description: options.description,
    helpValue: '<duration>',
    parse: checked('a duration like 30m, 12h or 7d', parseDuration),
  })()
}

/** A point in time: an ISO-8601 date or date-time, or a duration ago (`2h`, `30m`, `7d`). */
export function sinceFlag(options: { description: string }) {
  return Flags.custom<Date>({
    description: options.description,
    helpValue: '<time|duration>',
    parse: checked('an ISO time (2026-02-03T14:30:00Z) or a duration ago (2h, 30m, 7d)', (input) =>
      parseSince(input, Date.now()),
    ),
  })()
}

/**
 * An agent id given to filter a listing (`--agent`, `--from`; with `recipient`, also the `*` a message can
 * be sent to, for `--to`): checked as ids are everywhere else, so a typo or a pasted control sequence is a
 * usage error naming the flag, not an empty result that looks like "nothing there".
 */
export function agentIdFlag(options: { description: string; recipient?: boolean }) {
  const expected = `an agent id (letters, digits and . _ : @ -, up to 128)${options.recipient === true ? " or '*'" : ''}`
  return Flags.custom<string>({
    description: options.description,
    helpValue: '<agent>',
    parse: async (input) => {
      // Loaded only when the flag is given: the schemas bring zod, which start-up of other commands skips.
      const { AgentIdSchema, RecipientSchema } = await import('@agent-comm/protocol')
      const parsed = (options.recipient === true ? RecipientSchema : AgentIdSchema).safeParse(input)
      if (!parsed.success) throw new Errors.CLIError(`expected ${expected}, got '${input}'`)
      return parsed.data
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

/** What a command says of its `--port`; the bounds are the same for every server. */
interface PortFlagOptions {
  description: string
  helpValue?: string
  dependsOn?: string[]
}

/** `--port` of a server: a TCP port from 0 (any free one) to {@link MAX_PORT}. */
export function portFlag(options: PortFlagOptions & { default: number }): Interfaces.OptionFlag<number>
export function portFlag(options: PortFlagOptions): Interfaces.OptionFlag<number | undefined>
export function portFlag(options: PortFlagOptions & { default?: number }) {
  return Flags.integer({ ...options, min: 0, max: MAX_PORT })
}

/** `--idempotency-key`: what a retry with the same key does is the command's `description`. */
export function idempotencyKeyFlag(description: string) {
  return Flags.string({ description, helpValue: '<key>' })
}

/** `--receipt`: the claim's receipt that `poll` prints; an ack, nack or extend with it detects a lost lease. */
export const receiptFlag = Flags.string({
  description: 'receipt of the claim (poll prints it): detects a lost lease',
})
