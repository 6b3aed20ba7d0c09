import type { ErrorReport } from './errors.js'

/** A validation issue as agent-comm's `ValidationError` lists it: a field path (or `(root)`) and a message. */
export interface Issue {
  path: string
  message: string
}

/** What `--metadata` takes (`register`, `send`…), for the hint of a value it refuses. */
export const METADATA_EXPECTED = `a JSON object, e.g. --metadata '{"model":"gpt-5"}'`

/** What `--agent` takes, for the hint of a value it refuses. */
export const AGENT_ID_EXPECTED = 'an agent id: 1-128 letters, digits and . _ : @ -'

/** What `--idempotency-key` takes, for the hint of a value it refuses (its length is in the error). */
export const IDEMPOTENCY_KEY_EXPECTED =
  'a key of letters, digits and . _ : @ - / + =, e.g. a UUID, a hash or task-42/attempt'

/**
 * The `--idempotency-key` of `send`, `reply` and `request`, checked where it is typed: refused naming the
 * flag and what it takes, not the library's option (undefined when not given).
 */
export function idempotencyKeyFlagValue(
  runtime: Parameters<typeof parseFlagValue>[0] & {
    IdempotencyKeySchema: typeof import('@agent-comm/protocol').IdempotencyKeySchema
  },
  key: string | undefined,
): string | undefined {
  return key === undefined
    ? undefined
    : parseFlagValue(
        runtime,
        runtime.IdempotencyKeySchema,
        key,
        '--idempotency-key',
        IDEMPOTENCY_KEY_EXPECTED,
      )
}

/** zod's type names as the user of a command line reads them. */
const TYPE_WORDS: Readonly<Record<string, string>> = {
  record: 'a JSON object',
  object: 'a JSON object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  null: 'null',
  undefined: 'nothing',
}

/**
 * A zod issue's message in plain words: `Invalid input: expected record, received array` becomes `expected
 * a JSON object, got an array`. Messages written for people (`must be an http(s) URL`) pass unchanged.
 */
export function plainIssueMessage(message: string): string {
  const typeMismatch = /^Invalid input: expected (\w+), received (\w+)$/.exec(message)
  if (typeMismatch === null) return message
  const [, expected = '', received = ''] = typeMismatch
  return `expected ${TYPE_WORDS[expected] ?? expected}, got ${TYPE_WORDS[received] ?? received}`
}

/** The issues of a `ValidationError` (from the runtime bundle, so read by shape), or undefined. */
export function issuesOf(error: unknown): Issue[] | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  if ((error as { code?: unknown }).code !== 'VALIDATION') return undefined
  const issues = (error as { issues?: unknown }).issues
  if (!Array.isArray(issues) || issues.length === 0) return undefined
  const valid = issues.every(
    (issue: unknown) =>
      typeof (issue as Issue | null)?.path === 'string' && typeof (issue as Issue).message === 'string',
  )
  return valid ? (issues as Issue[]) : undefined
}

/**
 * Issues said in the flags the user typed: each issue names the flag that set its field (`relayUrl` →
 * `--relay-url`, through `fieldFlags`, whose keys may be nested paths: `routing.conversationId` →
 * `--conversation`; a path under the field stays after it: `--metadata: trace.traceparent:
 * …`), in plain words. `hint` is kept when the thrower wrote one, else it says which flags to change. Undefined
 * when an issue is at a field no flag sets: the error is then better shown as it is.
 */
export function issuesInFlagTerms(
  issues: readonly Issue[],
  fieldFlags: Readonly<Record<string, string>>,
  hint: string | null,
): { message: string; hint: string } | undefined {
  const byFlag = new Map<string, string[]>()
  for (const issue of issues) {
    const segments = issue.path.split('.')
    // The longest leading part of the path a flag sets: `routing.conversationId` is --conversation's.
    let length = segments.length
    while (length > 0 && fieldFlags[segments.slice(0, length).join('.')] === undefined) length--
    if (length === 0) return undefined
    const flag = fieldFlags[segments.slice(0, length).join('.')]!
    const rest = segments.slice(length)
    // A list's item is counted as the user counts the values typed (`-c a,b`: the 2nd is `value 2`), not
    // by its index in the array (`1`).
    const where =
      rest.length === 0
        ? ''
        : rest.length === 1 && /^\d+$/.test(rest[0]!)
          ? `value ${Number(rest[0]) + 1}: `
          : `${rest.join('.')}: `
    byFlag.set(flag, [...(byFlag.get(flag) ?? []), `${where}${plainIssueMessage(issue.message)}`])
  }
  const flags = [...byFlag.keys()]
  return {
    message: [...byFlag].map(([flag, problems]) => `Invalid ${flag}: ${problems.join('; ')}`).join('; '),
    // The hint ValidationError makes up names the fields ("Change relayUrl as …"): the flags replace it.
    hint:
      hint === null || /^Change .* as the error says and try again\.$/.test(hint)
        ? `Change ${flags.join(', ')} as the error says and try again.`
        : hint,
  }
}

/**
 * The report of a failed command with a `VALIDATION` error about fields its flags set said in those flags
 * ({@link issuesInFlagTerms}); any other report as it is. What `BaseCommand.catch` and `send`'s fast path
 * print.
 */
export function reportInFlagTerms(
  report: ErrorReport,
  error: unknown,
  fieldFlags: Readonly<Record<string, string>>,
): ErrorReport {
  const issues = issuesOf(error)
  const said = issues === undefined ? undefined : issuesInFlagTerms(issues, fieldFlags, report.hint)
  return said === undefined ? report : { ...report, ...said }
}

/**
 * Parses the value of `flag` (already read as JSON) with `schema`; on failure a `ValidationError` naming the
 * flag, saying in plain words what is wrong (`Invalid --metadata: expected a JSON object, got an array`) and
 * what it takes (`hint`: `Give --metadata a JSON object, e.g. …`).
 */
export function parseFlagValue<T>(
  runtime: {
    ValidationError: typeof import('@agent-comm/protocol').ValidationError
  },
  schema: {
    safeParse(
      value: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } }
  },
  value: unknown,
  flag: string,
  expected: string,
): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = result.error.issues.map((issue) => ({
    path: [flag, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }))
  const said = issuesInFlagTerms(issues, { [flag]: flag }, null)!
  throw new runtime.ValidationError(said.message, issues, { hint: `Give ${flag} ${expected}.` })
}
