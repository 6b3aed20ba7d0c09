// `agent-comm inbox AGENT --new`: the hook command. Assistants' hooks run it on every prompt (Claude Code
// UserPromptSubmit, SessionStart, Stop; Codex hooks), so it must cost little more than starting Node:
// bin/run.js runs it without oclif, and it reads the spool with one query (the spool's, shared by both
// stores) instead of loading the library: a SQLite file through better-sqlite3, a PostgreSQL database
// through @agent-comm/postgres/unclaimed-mail, one connection that gives up after 3 s (figures in
// bench/hook.bench.mjs). It prints only mail that is waiting unclaimed and due now and, with
// --since-cursor, not yet shown to this client; then it moves the cursor.

import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { errorMessage } from '@agent-comm/protocol/errors'
import {
  advanceCursor,
  type MailCursor,
  NO_CURSOR,
  type UnclaimedMailParam,
  type UnclaimedMailRow,
  unclaimedMailParams,
  unclaimedMailSql,
} from '@agent-comm/spool/unclaimed-mail'
import {
  type ErrorReport,
  ExitCode,
  errorJson,
  exitCodeFor,
  formatErrorText,
  hasAgentCommErrorShape,
  missingSchemaFailure,
} from './errors.js'
import { cursorFile, postgresCursorFile, readCursor, writeCursor } from './hook-cursor.js'
import { newerSchema } from './newer-schema.js'
import { safeLine } from './terminal-text.js'

/**
 * Longest the hook waits for a PostgreSQL server: to connect, and then for each statement. Assistants give
 * a hook about 10 s (agent-comm installs them with that timeout): a server that is down must cost less.
 */
const HOOK_WAIT_SECONDS = 3

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
  /** A SQLite file (absolute) or a PostgreSQL URL. */
  db: string
  /** The schema on PostgreSQL (AGENT_COMM_PG_SCHEMA; default agent_comm). */
  schema?: string | undefined
  client: string
  sinceCursor: boolean
  format: HookFormat
  event: string
  /** Now, on SQLite (on PostgreSQL the server's clock decides). */
  now: number
  /** The user's home folder: where the cursors of a PostgreSQL database are kept. */
  home: string
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
  /**
   * True for a failure SQLite reported in its own words ("unable to open database file", "no such table"):
   * a missing, empty or misnamed file, which opening the database as every command does names properly.
   */
  readonly unexplained: boolean

  constructor(report: ErrorReport, options: { unexplained?: boolean } = {}) {
    super(report.message)
    this.report = report
    this.unexplained = options.unexplained === true
  }
}

const usage = (message: string): HookInboxError =>
  new HookInboxError({ code: 'VALIDATION', message, hint: null, exitCode: ExitCode.USAGE })

function line(row: UnclaimedMailRow): string {
  const subject = [...row.subject.replace(/\s+/g, ' ').trim()]
  const short = subject.length > 60 ? `${subject.slice(0, 59).join('')}…` : subject.join('')
  // Subjects and ids come from other agents: shown escaped, to a terminal and to the model alike.
  return `${PRIORITIES[row.priority] ?? 'normal'} from ${safeLine(row.from_agent)}: "${safeLine(short)}" (${safeLine(row.id)})`
}

/** The context line for `rows` (most urgent first), at most {@link MAX_CHARS}. */
export function hookText(agent: string, rows: readonly UnclaimedMailRow[]): string {
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

/**
 * Reads what is new and moves the cursor. Throws {@link HookInboxError} for a newer schema, and the
 * store's error (an `AgentCommError` on PostgreSQL) for an unreadable database.
 */
export async function readNewMail(options: HookInboxOptions): Promise<HookInboxResult> {
  const read = isPostgresDatabase(options.db) ? await readPostgres(options) : readSqlite(options)
  if (options.sinceCursor) {
    const next = advanceCursor(read.cursor, read.rows, read.now)
    if (next !== undefined) writeCursor(read.cursorFile, next)
  }
  const { rows } = read
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

/** What one read found, against which cursor, at what time, and where that cursor is kept. */
interface Read {
  rows: UnclaimedMailRow[]
  cursor: MailCursor
  cursorFile: string
  now: number
}

function readSqlite(options: HookInboxOptions): Read {
  const require = createRequire(import.meta.url)
  // Loaded directly (not through the spool) so the hook loads one native addon and nothing else.
  const Database = require('better-sqlite3') as new (
    file: string,
    options: { readonly: boolean; fileMustExist: boolean },
  ) => { prepare(sql: string): { all(...params: unknown[]): unknown[] }; close(): void }
  const db = new Database(options.db, { readonly: true, fileMustExist: true })
  const file = cursorFile(options.db, options.agent, options.client)
  const cursor = options.sinceCursor ? readCursor(file) : NO_CURSOR
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
    const sql = unclaimedMailSql(
      { deliveries: 'deliveries', messages: 'messages' },
      (name: UnclaimedMailParam) => `@${name}`,
    )
    const rows = db
      .prepare(sql)
      .all(unclaimedMailParams(options.agent, options.now, cursor)) as UnclaimedMailRow[]
    return { rows, cursor, cursorFile: file, now: options.now }
  } finally {
    db.close()
  }
}

async function readPostgres(options: HookInboxOptions): Promise<Read> {
  const { loadUnclaimedMail } = await import('./hook-runtime.bundle.js')
  const { DEFAULT_SCHEMA, readUnclaimedMail } = await loadUnclaimedMail()
  const schema = options.schema ?? DEFAULT_SCHEMA
  const file = postgresCursorFile(options.home, options.db, schema, options.agent, options.client)
  const cursor = options.sinceCursor ? readCursor(file) : NO_CURSOR
  const { rows, now } = await readUnclaimedMail({
    url: options.db,
    schema,
    recipient: options.agent,
    cursor,
    connectTimeoutMs: HOOK_WAIT_SECONDS * 1000,
    statementTimeoutMs: HOOK_WAIT_SECONDS * 1000,
  })
  return { rows, cursor, cursorFile: file, now }
}

/**
 * A `postgres://` or `postgresql://` URL rather than a SQLite file: the coordinator's `isPostgresUrl`,
 * which the hook does not load for a SQLite file.
 */
export function isPostgresDatabase(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db)
}

/**
 * The database as the other commands find it without `--db` or a database file: AGENT_COMM_DB_PATH (a
 * PostgreSQL URL as it is, a file from the current folder), then the project's default file.
 */
export function defaultDbPath(env: Record<string, string | undefined>, cwd: string): string {
  const configured = env.AGENT_COMM_DB_PATH?.trim()
  if (configured !== undefined && configured !== '') return databaseFrom(configured, cwd)
  return resolve(env.AGENT_COMM_PROJECT_ROOT?.trim() || cwd, 'data', 'coordination.db')
}

function databaseFrom(setting: string, cwd: string): string {
  return isPostgresDatabase(setting) ? setting : resolve(cwd, setting)
}

/**
 * The database of the hook, found as the other commands find it: --db, then the file AGENT_COMM_DB_PATH_FILE
 * names (read by the coordinator's rule; `mcp install` writes one for a URL with a password, so no
 * password is on the hook's command line), then {@link defaultDbPath}.
 */
async function hookDatabase(
  flags: HookFlags,
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<string> {
  if (flags.db !== undefined) return databaseFrom(flags.db, cwd)
  const file = env.AGENT_COMM_DB_PATH_FILE?.trim()
  if (file === undefined || file === '') return defaultDbPath(env, cwd)
  const { readDatabaseFile } = await import('./hook-runtime.bundle.js')
  return databaseFrom(readDatabaseFile(resolve(cwd, file), 'AGENT_COMM_DB_PATH_FILE'), cwd)
}

/**
 * Validates `flags` and runs the hook: its output (the `--json` document with --json) and exit code.
 * Throws {@link HookInboxError} for bad usage, a newer schema or an unreadable database. Echoed values
 * are shown escaped in the error messages (the error printers escape them again for a terminal).
 */
export async function runHook(
  flags: HookFlags,
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<{ result: HookInboxResult; output: string }> {
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
  let result: HookInboxResult
  try {
    const schema = env.AGENT_COMM_PG_SCHEMA?.trim()
    result = await readNewMail({
      agent,
      db: await hookDatabase(flags, env, cwd),
      schema: schema === '' ? undefined : schema,
      client,
      sinceCursor: flags.sinceCursor === true,
      format,
      event,
      now: Date.now(),
      home: env.HOME?.trim() || homedir(),
    })
  } catch (error) {
    throw hookFailure(error)
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
 * What the hook reports for `error`: an agent-comm error (the database file's, the PostgreSQL read's) with
 * its code, hint and exit code; anything else (better-sqlite3's) as STORAGE. Messages only, never a
 * stack; the PostgreSQL errors name the server without its password.
 */
function hookFailure(thrown: unknown): HookInboxError {
  if (thrown instanceof HookInboxError) return thrown
  // A schema without agent-comm's tables: said with the CLI's flags and variables, as other commands say it.
  const error = missingSchemaFailure(thrown)
  if (hasAgentCommErrorShape(error)) {
    const { reason, server } = (error as { details?: { reason?: unknown; server?: unknown } }).details ?? {}
    // The server did not answer in time, or went away: said so, and what to do meanwhile, rather than a
    // driver's advice about retrying sends.
    const unanswered = reason === 'unreachable' || reason === 'connection-lost' || reason === 'timeout'
    const hint = unanswered
      ? `Check that PostgreSQL is running and accepts connections at ${String(server)}. The inbox hook waits at most ${HOOK_WAIT_SECONDS} s for it, so the assistant is not held up; meanwhile read the mail with comm_poll.`
      : (error.hint ?? null)
    return new HookInboxError({
      code: error.code,
      message: `agent-comm inbox --new: ${error.message}`,
      hint,
      exitCode: exitCodeFor(error.code),
    })
  }
  return new HookInboxError(
    {
      code: 'STORAGE',
      message: `agent-comm inbox --new: ${errorMessage(thrown)}`,
      hint: null,
      exitCode: ExitCode.FAILURE,
    },
    { unexplained: true },
  )
}

/**
 * Parses `inbox AGENT --new …` (global flags already after the command) and runs it. Returns undefined
 * when the arguments are not for the fast path (unknown flags, --help): the full command then runs them.
 * A hook must never break the assistant's prompt: a failure is one line on stderr (with --json, the error
 * document on stdout) and a non-zero exit, and nothing else.
 */
export async function runHookInbox(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<{ output: string; code: number; stream: 'stdout' | 'stderr' } | undefined> {
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
  if (flags.agent === undefined) return undefined
  try {
    return { output: (await runHook(flags, env, cwd)).output, code: 0, stream: 'stdout' }
  } catch (error) {
    if (!(error instanceof HookInboxError)) throw error
    const { report } = error
    // A SQLite file the hook could not read: the full command says why, as every command does (rare, so
    // loading oclif then costs nothing on the prompts where all is well).
    if (error.unexplained) return undefined
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
