// `agent-comm inbox AGENT --new`: the hook command. Assistants' hooks run it on every prompt (Claude Code
// UserPromptSubmit, SessionStart, Stop; Codex hooks), so it must cost little more than starting Node:
// bin/run.js runs it without oclif, and it reads the SQLite spool with one prepared query instead of
// loading the library (figures in bench/hook.bench.mjs). It prints only mail that is waiting unclaimed and,
// with --since-cursor, newer than what this client was last shown; then it moves the cursor.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

/** Most characters the hook adds to the model's context. */
const MAX_CHARS = 600
const PRIORITIES = ['critical', 'high', 'normal', 'low']
const AGENT_ID = /^[A-Za-z0-9._:@-]{1,128}$/
const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/

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

interface Row {
  seq: number
  id: string
  from_agent: string
  subject: string
  priority: number
}

/** Where the cursor of `client` for `agent` is kept: beside the database, one small file each. */
export function cursorFile(db: string, agent: string, client: string): string {
  return join(dirname(db), '.agent-comm-hooks', `${client}--${encodeURIComponent(agent)}.cursor`)
}

function readCursor(file: string): number {
  try {
    const value = Number(readFileSync(file, 'utf8').trim())
    return Number.isSafeInteger(value) && value >= 0 ? value : 0
  } catch {
    // No cursor yet: everything waiting is new.
    return 0
  }
}

function writeCursor(file: string, seq: number): void {
  mkdirSync(dirname(file), { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${seq}\n`)
  renameSync(temporary, file)
}

function line(row: Row): string {
  const subject = row.subject.replace(/\s+/g, ' ').trim()
  const short = subject.length > 60 ? `${subject.slice(0, 59)}…` : subject
  return `${PRIORITIES[row.priority] ?? 'normal'} from ${row.from_agent}: "${short}" (${row.id})`
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

/** Reads what is new, prints it (nothing when nothing is new) and moves the cursor. Returns the output. */
export function hookInbox(options: HookInboxOptions): string {
  const require = createRequire(import.meta.url)
  // Loaded directly (not through the spool) so the hook loads one native addon and nothing else.
  const Database = require('better-sqlite3') as new (
    file: string,
    options: { readonly: boolean; fileMustExist: boolean },
  ) => { prepare(sql: string): { all(...params: unknown[]): unknown[] }; close(): void }
  const db = new Database(options.db, { readonly: true, fileMustExist: true })
  let rows: Row[]
  const file = cursorFile(options.db, options.agent, options.client)
  const cursor = options.sinceCursor ? readCursor(file) : 0
  try {
    rows = db
      .prepare(
        `SELECT m.seq, m.id, m.from_agent, m.subject, d.priority
           FROM deliveries d JOIN messages m ON m.seq = d.message_seq
          WHERE d.recipient = ? AND d.status = 'queued' AND d.expires_at > ? AND m.seq > ?
          ORDER BY d.priority, m.seq
          LIMIT 200`,
      )
      .all(options.agent, options.now, cursor) as Row[]
  } finally {
    db.close()
  }
  if (options.sinceCursor && rows.length > 0) writeCursor(file, Math.max(...rows.map((r) => r.seq)))
  if (rows.length === 0) return ''
  const text = hookText(options.agent, rows)
  if (options.format === 'text') return `${text}\n`
  return `${JSON.stringify({ hookSpecificOutput: { hookEventName: options.event, additionalContext: text } })}\n`
}

/** The database path as the other commands find it: --db, AGENT_COMM_DB_PATH, then the project's default. */
export function defaultDbPath(env: Record<string, string | undefined>, cwd: string): string {
  const configured = env.AGENT_COMM_DB_PATH?.trim()
  if (configured !== undefined && configured !== '') return resolve(cwd, configured)
  return resolve(env.AGENT_COMM_PROJECT_ROOT?.trim() || cwd, 'data', 'coordination.db')
}

/**
 * Parses `inbox AGENT --new …` and runs it. Returns undefined when the arguments are not for the fast
 * path (a PostgreSQL URL, unknown flags): the full command then runs them.
 */
export function runHookInbox(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): { output: string; code: number } | undefined {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch {
    return undefined
  }
  const { values, positionals } = parsed
  const agent = positionals[0]
  const db = values.db === undefined ? defaultDbPath(env, cwd) : resolve(cwd, values.db)
  if (agent === undefined || /^postgres(ql)?:/.test(values.db ?? env.AGENT_COMM_DB_PATH ?? ''))
    return undefined
  if (!AGENT_ID.test(agent)) return { output: `Error: invalid agent id '${agent}'\n`, code: 2 }
  const client = values.client ?? 'default'
  if (!CLIENT_ID.test(client)) return { output: `Error: invalid --client '${client}'\n`, code: 2 }
  const format = values.format ?? 'text'
  if (format !== 'text' && format !== 'hook-json') {
    return { output: `Error: --format must be text or hook-json (got '${format}')\n`, code: 2 }
  }
  try {
    const output = hookInbox({
      agent,
      db,
      client,
      sinceCursor: values['since-cursor'] === true,
      format,
      event: values.event ?? 'UserPromptSubmit',
      now: Date.now(),
    })
    return { output, code: 0 }
  } catch (error) {
    // A hook must never break the assistant's prompt: say what is wrong on stderr, exit 1, print nothing.
    return {
      output: `Error: agent-comm inbox --new: ${error instanceof Error ? error.message : String(error)}\n`,
      code: 1,
    }
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
    },
  })
}
