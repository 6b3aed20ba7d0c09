// `agent-comm inbox AGENT --new`: the hook command. Assistants' hooks run it on every prompt (Claude Code
// UserPromptSubmit, SessionStart, Stop; Codex hooks), so it must cost little more than starting Node:
// bin/run.js runs it without oclif, and it reads the SQLite spool with one prepared query instead of
// loading the library (figures in bench/hook.bench.mjs). It prints only mail that is waiting unclaimed and
// due now and, with --since-cursor, not yet shown to this client; then it moves the cursor.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { type ErrorReport, ExitCode, errorJson, formatErrorText } from './errors.js'
import { newerSchema } from './newer-schema.js'
import { safeLine } from './terminal-text.js'

/** Most characters the hook adds to the model's context. */
const MAX_CHARS = 600
const PRIORITIES = ['critical', 'high', 'normal', 'low']
const AGENT_ID = /^[A-Za-z0-9._:@-]{1,128}$/
const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/
/** A hook event name as assistants spell them (`UserPromptSubmit`, `SessionStart`). */
const EVENT = /^[A-Za-z]{1,64}$/

/** The output formats: `text` for humans and Codex, `hook-json` for hooks that add context as JSON. */
export type HookFormat = 'text' | 'hook-json'

export interface HookInboxOptions {
  agent: string
  db: string
  client: string
  sinceCursor: boolean
  format: HookFormat
  event: string
  now: number
}

/** The flags of `inbox AGENT --new`, as written (validated by {@link runHook}). */
export interface HookFlags {
  agent?: string
  db?: string
  client?: string
  format?: string
  event?: string
  sinceCursor?: boolean
  json?: boolean
}

/** `--json` output of `inbox --new`: the new mail (subjects exact) and the line the hook would print. */
export interface HookInboxResult {
  agent: string
  count: number
  messages: { messageId: string; fromAgent: string; subject: string; priority: string }[]
  /** The context line (control characters shown escaped), or "" when nothing is new. */
  text: string
}

/** A failure of the hook, with the code, hint and exit code every command reports. */
export class HookInboxError extends Error {
  readonly report: ErrorReport

  constructor(report: ErrorReport) {
    super(report.message)
    this.report = report
  }
}

const usage = (message: string): HookInboxError =>
  new HookInboxError({ code: 'VALIDATION', message, hint: null, exitCode: ExitCode.USAGE })

interface Row {
  seq: number
  id: string
  from_agent: string
  subject: string
  priority: number
}

/**
 * What a client was last shown: every delivery with `seq` at most `seq` that was due at `checkedAt` was
 * announced then or before. A delivery that becomes due later (a delayed message, a nacked retry, a held
 * message released to a newcomer) is new again even below `seq`.
 */
interface Cursor {
  seq: number
  checkedAt: number
}

/** Where the cursor of `client` for `agent` is kept: beside the database, one small file each. */
export function cursorFile(db: string, agent: string, client: string): string {
  return join(dirname(db), '.agent-comm-hooks', `${client}--${encodeURIComponent(agent)}.cursor`)
}

function readCursor(file: string): Cursor {
  let words: number[]
  try {
    words = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number)
  } catch {
    // No cursor yet: everything waiting is new.
    return { seq: 0, checkedAt: 0 }
  }
  const [seq, checkedAt] = words
  const valid = (n: number | undefined): n is number => n !== undefined && Number.isSafeInteger(n) && n >= 0
  // A cursor written before the check time was kept holds only the seq: only the seq counts then.
  return { seq: valid(seq) ? seq : 0, checkedAt: valid(checkedAt) ? checkedAt : Number.MAX_SAFE_INTEGER }
}

function writeCursor(file: string, cursor: Cursor): void {
  mkdirSync(dirname(file), { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${cursor.seq} ${cursor.checkedAt}\n`)
  renameSync(temporary, file)
}

function line(row: Row): string {
  const subject = [...row.subject.replace(/\s+/g, ' ').trim()]
  const short = subject.length > 60 ? `${subject.slice(0, 59).join('')}…` : subject.join('')
  // Subjects and ids come from other agents: shown escaped, to a terminal and to the model alike.
  return `${PRIORITIES[row.priority] ?? 'normal'} from ${safeLine(row.from_agent)}: "${safeLine(short)}" (${safeLine(row.id)})`
}

/** The context line for `rows` (most urgent first), at most {@link MAX_CHARS}. */
export function hookText(agent: string, rows: Row[]): string {
  const head = `agent-comm: ${rows.length} new message${rows.length === 1 ? '' : 's'} for ${agent}`
  const tail = ` Claim with comm_poll (or: agent-comm poll ${agent}), then ack.`
  let text = `${head}:`
  let shown = 0
  for (const row of rows) {
    const next = `${text} ${line(row)};`
    if (next.length + tail.length + 20 > MAX_CHARS) break
    text = next
    shown++
  }
  if (shown < rows.length) text += ` …and ${rows.length - shown} more;`
  return text.replace(/;$/, '.') + tail
}

/** Reads what is new and moves the cursor. Throws {@link HookInboxError} for a newer schema. */
export function readNewMail(options: HookInboxOptions): HookInboxResult {
  const require = createRequire(import.meta.url)
  // Loaded directly (not through the spool) so the hook loads one native addon and nothing else.
  const Database = require('better-sqlite3') as new (
    file: string,
    options: { readonly: boolean; fileMustExist: boolean },
  ) => { prepare(sql: string): { all(...params: unknown[]): unknown[] }; close(): void }
  const db = new Database(options.db, { readonly: true, fileMustExist: true })
  let rows: Row[]
  const file = cursorFile(options.db, options.agent, options.client)
  const cursor = options.sinceCursor ? readCursor(file) : { seq: 0, checkedAt: 0 }
  try {
    const newer = newerSchema(db)
    if (newer !== undefined) {
      throw new HookInboxError({
        code: 'SCHEMA_VERSION',
        message: `The ${newer} database schema is newer than this version of agent-comm understands`,
        hint: 'Upgrade agent-comm to the version that wrote this database, or point it at another database file.',
        exitCode: ExitCode.FAILURE,
      })
    }
    // Only what poll could claim now (queued, due, not expired), as the spool's claim selects it; new when
    // past the cursor or due since the last look.
    rows = db
      .prepare(
        `SELECT m.seq, m.id, m.from_agent, m.subject, d.priority
           FROM deliveries d JOIN messages m ON m.seq = d.message_seq
          WHERE d.recipient = ? AND d.status = 'queued' AND d.available_at <= ? AND d.expires_at > ?
            AND (m.seq > ? OR d.available_at > ?)
          ORDER BY d.priority, m.seq
          LIMIT 200`,
      )
      .all(options.agent, options.now, options.now, cursor.seq, cursor.checkedAt) as Row[]
  } finally {
    db.close()
  }
  if (options.sinceCursor && rows.length > 0) {
    writeCursor(file, { seq: Math.max(cursor.seq, ...rows.map((r) => r.seq)), checkedAt: options.now })
  }
  return {
    agent: options.agent,
    count: rows.length,
    messages: rows.map((row) => ({
      messageId: row.id,
      fromAgent: row.from_agent,
      subject: row.subject,
      priority: PRIORITIES[row.priority] ?? 'normal',
    })),
    text: rows.length === 0 ? '' : hookText(options.agent, rows),
  }
}

/** The database path as the other commands find it: --db, AGENT_COMM_DB_PATH, then the project's default. */
export function defaultDbPath(env: Record<string, string | undefined>, cwd: string): string {
  const configured = env.AGENT_COMM_DB_PATH?.trim()
  if (configured !== undefined && configured !== '') return resolve(cwd, configured)
  return resolve(env.AGENT_COMM_PROJECT_ROOT?.trim() || cwd, 'data', 'coordination.db')
}

/** True when the database of `flags` is PostgreSQL, which `--new` does not read. */
export function isPostgres(flags: HookFlags, env: Record<string, string | undefined>): boolean {
  return /^postgres(ql)?:/.test(flags.db ?? env.AGENT_COMM_DB_PATH ?? '')
}

/**
 * Validates `flags` and runs the hook: its output (the `--json` document with --json) and exit code.
 * Throws {@link HookInboxError} for bad usage, a newer schema or an unreadable database. Echoed values
 * are shown escaped in the error messages (the error printers escape them again for a terminal).
 */
export function runHook(
  flags: HookFlags,
  env: Record<string, string | undefined>,
  cwd: string,
): { result: HookInboxResult; output: string } {
  const agent = flags.agent
  if (agent === undefined) throw usage('Missing 1 required arg: agent (inbox AGENT --new)')
  if (!AGENT_ID.test(agent)) throw usage(`invalid agent id '${safeLine(agent)}'`)
  const client = flags.client ?? 'default'
  if (!CLIENT_ID.test(client)) throw usage(`invalid --client '${safeLine(client)}'`)
  const format = flags.format ?? 'text'
  if (format !== 'text' && format !== 'hook-json') {
    throw usage(`--format must be text or hook-json (got '${safeLine(format)}')`)
  }
  const event = flags.event ?? 'UserPromptSubmit'
  if (!EVENT.test(event))
    throw usage(`invalid --event '${safeLine(event)}' (a hook event name such as SessionStart)`)
  const db = flags.db === undefined ? defaultDbPath(env, cwd) : resolve(cwd, flags.db)
  const options: HookInboxOptions = {
    agent,
    db,
    client,
    sinceCursor: flags.sinceCursor === true,
    format,
    event,
    now: Date.now(),
  }
  let result: HookInboxResult
  try {
    result = readNewMail(options)
  } catch (error) {
    if (error instanceof HookInboxError) throw error
    throw new HookInboxError({
      code: 'STORAGE',
      message: `agent-comm inbox --new: ${error instanceof Error ? error.message : String(error)}`,
      hint: null,
      exitCode: ExitCode.FAILURE,
    })
  }
  if (flags.json === true) return { result, output: `${JSON.stringify(result, null, 2)}\n` }
  if (result.text === '') return { result, output: '' }
  if (format === 'text') return { result, output: `${result.text}\n` }
  return {
    result,
    output: `${JSON.stringify({ hookSpecificOutput: { hookEventName: event, additionalContext: result.text } })}\n`,
  }
}

/**
 * Parses `inbox AGENT --new …` (global flags already after the command) and runs it. Returns undefined
 * when the arguments are not for the fast path (a PostgreSQL URL, unknown flags, --help), or the database
 * could not be read: the full command then runs them. A hook must never break the assistant's prompt: a failure is one line on stderr (with
 * --json, the error document on stdout) and a non-zero exit, and nothing else.
 */
export function runHookInbox(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): { output: string; code: number; stream: 'stdout' | 'stderr' } | undefined {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch {
    return undefined
  }
  const { values, positionals } = parsed
  if (positionals.length > 1) return undefined
  const flags: HookFlags = {
    agent: positionals[0],
    db: values.db,
    client: values.client,
    format: values.format,
    event: values.event,
    sinceCursor: values['since-cursor'],
    json: values.json,
  }
  // A database setting kept in a file is read by the full command (the coordinator's rule for that file).
  const inFile = flags.db === undefined && (env.AGENT_COMM_DB_PATH_FILE?.trim() ?? '') !== ''
  if (flags.agent === undefined || inFile || isPostgres(flags, env)) return undefined
  try {
    return { output: runHook(flags, env, cwd).output, code: 0, stream: 'stdout' }
  } catch (error) {
    if (!(error instanceof HookInboxError)) throw error
    const { report } = error
    // A database the hook could not read: the full command says why, as every command does (rare, so
    // loading oclif then costs nothing on the prompts where all is well).
    if (report.code === 'STORAGE') return undefined
    if (flags.json === true) {
      return {
        output: `${JSON.stringify(errorJson(report), null, 2)}\n`,
        code: report.exitCode,
        stream: 'stdout',
      }
    }
    return { output: formatErrorText(report), code: report.exitCode, stream: 'stderr' }
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      new: { type: 'boolean' },
      'since-cursor': { type: 'boolean' },
      format: { type: 'string' },
      client: { type: 'string' },
      event: { type: 'string' },
      db: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
}
