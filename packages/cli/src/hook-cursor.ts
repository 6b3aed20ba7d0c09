// Where `inbox AGENT --new --since-cursor` keeps what each client was shown (the rule of what is new is the
// spool's, `@agent-comm/spool/unclaimed-mail`): one small file per database, agent and client, written
// atomically, so two hooks of one client racing lose nothing worse than one repeated line.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { redactUrl } from '@agent-comm/protocol/redact-url'
import { type MailCursor, NO_CURSOR, type ShownMail } from '@agent-comm/spool/unclaimed-mail'

function fileName(agent: string, client: string): string {
  return `${client}--${encodeURIComponent(agent)}.cursor`
}

/** The cursor of `client` for `agent` on a SQLite database: beside the database file. */
export function cursorFile(db: string, agent: string, client: string): string {
  return join(dirname(db), '.agent-comm-hooks', fileName(agent, client))
}

/**
 * The cursor of `client` for `agent` on a PostgreSQL database: in the user's `~/.agent-comm/hooks/`, in a
 * folder named after the server's URL without its password (a changed password keeps the cursor) and the
 * schema (two schemas are two databases). Nothing on the server: a hook only reads there.
 */
export function postgresCursorFile(
  home: string,
  url: string,
  schema: string,
  agent: string,
  client: string,
): string {
  const database = createHash('sha256')
    .update(`${redactUrl(url)}\n${schema}`)
    .digest('hex')
    .slice(0, 16)
  return join(home, '.agent-comm', 'hooks', database, fileName(agent, client))
}

/**
 * The cursor kept in `file`: `SEQ CHECKED_AT` and then the mail it remembers as `SEQ:CREATED_AT` words (see
 * `LATE_COMMIT_WINDOW_MS`); {@link NO_CURSOR} when there is none yet (everything waiting is new). A file of
 * an older version (one or two numbers) remembers nothing.
 */
export function readCursor(file: string): MailCursor {
  let words: string[]
  try {
    words = readFileSync(file, 'utf8').trim().split(/\s+/)
  } catch {
    // No cursor yet: everything waiting is new.
    return NO_CURSOR
  }
  const [seq, checkedAt] = words.slice(0, 2).map(Number)
  const valid = (n: number | undefined): n is number => n !== undefined && Number.isSafeInteger(n) && n >= 0
  const recent: ShownMail[] = []
  for (const word of words.slice(2)) {
    const [shown, createdAt] = word.split(':').map(Number)
    // A damaged word is forgotten: that mail may be announced once more, never passed over.
    if (valid(shown) && valid(createdAt)) recent.push({ seq: shown, createdAt })
  }
  // A cursor written before the check time was kept holds only the seq: only the seq counts then.
  return {
    seq: valid(seq) ? seq : 0,
    checkedAt: valid(checkedAt) ? checkedAt : Number.MAX_SAFE_INTEGER,
    recent,
  }
}

/** Writes `cursor` to `file` (creating its folder, 0700), replacing the old one in one rename. */
export function writeCursor(file: string, cursor: MailCursor): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const temporary = `${file}.${process.pid}.tmp`
  const recent = (cursor.recent ?? []).map((mail) => ` ${mail.seq}:${mail.createdAt}`).join('')
  writeFileSync(temporary, `${cursor.seq} ${cursor.checkedAt}${recent}\n`)
  renameSync(temporary, file)
}
