import { copyFileSync, existsSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanEnv, type Project, project, registerAgents, runCli } from './helpers.js'

// What a hostile agent puts in a subject: set the window title, then reverse what follows (U+202E).
const TITLE = '\u001b]0;pwned\u0007'
const HOSTILE = `S${TITLE}\u202e`
/** Any control character a terminal could act on; a final line feed is the only one the hook may print. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for exactly these characters
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u

const HOOK = ['--new', '--since-cursor', '--client', 'codex']

type Database = {
  prepare(sql: string): { run(...params: unknown[]): unknown }
  close(): void
}
const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => Database

/** Writes to the project's database directly, as time passing or a newer agent-comm would. */
function write(p: Project, sql: string, ...params: unknown[]): void {
  const db = new BetterSqlite3(p.db)
  try {
    db.prepare(sql).run(...params)
  } finally {
    db.close()
  }
}

describe('inbox --new shows what agents sent escaped', () => {
  it('prints no control character of a subject, as text or as hook-json context', async () => {
    const p = project()
    await registerAgents(p, 'evil', 'victim')
    await p.ok(['send', 'evil', 'victim', 'x', '-s', HOSTILE])
    const text = (await p.ok(['inbox', 'victim', '--new'])).stdout
    expect(text).toContain('"S\\x1b]0;pwned\\x07\\u202e"')
    expect(text.trimEnd()).not.toMatch(RAW_CONTROL)
    const hook = (await p.ok(['inbox', 'victim', '--new', '--format', 'hook-json'])).stdout
    expect(hook).not.toMatch(/\\u001b|\\u0007/)
    expect(hook.trimEnd()).not.toMatch(RAW_CONTROL)
    expect(JSON.parse(hook).hookSpecificOutput.additionalContext).toContain('"S\\x1b]0;pwned\\x07\\u202e"')
  })

  it('echoes a hostile agent id, --client, --format or --event escaped in its error line', async () => {
    const p = project()
    await registerAgents(p, 'victim')
    for (const args of [
      [`v${TITLE}`, '--new'],
      ['victim', '--new', '--client', '\u001b[2J'],
      ['victim', '--new', '--format', '\u001b[2J'],
      ['victim', '--new', '--format', 'hook-json', '--event', '\u001b[2J'],
    ]) {
      const run = await p.run(['inbox', ...args])
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr, args.join(' ')).toContain('\\x1b')
      expect(run.stderr.trimEnd(), args.join(' ')).not.toMatch(RAW_CONTROL)
    }
  })
})

describe('inbox --new takes the global flags', () => {
  it('reads the --db given before the command', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    await p.ok(['send', 'architect', 'builder', 'task', '-s', 'one'])
    // No AGENT_COMM_DB_PATH: only --db names the database.
    const run = await runCli(['--db', p.db, 'inbox', 'builder', '--new'], { cwd: p.dir, env: cleanEnv() })
    expect(run.stderr).toBe('')
    expect(run.stdout).toMatch(/^agent-comm: 1 new message for builder: normal from architect: "one"/)
  })

  it('reads the database a file names in AGENT_COMM_DB_PATH_FILE, as every other command does', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    await p.ok(['send', 'architect', 'builder', 'task', '-s', 'one'])
    const file = join(p.dir, 'database.setting')
    writeFileSync(file, `${p.db}\n`, { mode: 0o600 })
    // No AGENT_COMM_DB_PATH nor --db: the project's default database would be another, missing, file.
    const env = cleanEnv({ AGENT_COMM_DB_PATH_FILE: file })
    for (const args of [
      ['inbox', 'builder', '--new'],
      ['inbox', 'builder'],
    ]) {
      const run = await runCli(args, { cwd: p.dir, env })
      expect(run.stderr, args.join(' ')).toBe('')
      expect(run.stdout).toMatch(/architect/)
    }
  })

  it('prints the new mail as one JSON document with --json, fast path or not', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    await p.ok(['send', 'architect', 'builder', 'task', '-s', HOSTILE])
    // --limit is not one of the hook's flags: that line goes through oclif.
    for (const extra of [[], ['--limit', '5']]) {
      const doc = await p.json<{
        agent: string
        count: number
        messages: { subject: string }[]
        text: string
      }>(['inbox', 'builder', '--new', ...extra])
      expect(doc.agent).toBe('builder')
      expect(doc.count).toBe(1)
      expect(doc.messages[0]!.subject).toBe(HOSTILE)
      expect(doc.text).toMatch(/^agent-comm: 1 new message for builder/)
    }
    const invalid = await p.run(['inbox', 'bad id', '--new', '--json'])
    expect(invalid.code).toBe(2)
    expect(JSON.parse(invalid.stdout).error.code).toBe('VALIDATION')
  })
})

describe('inbox --new announces what poll can claim', () => {
  it('announces a delayed message once it is due, not before', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const delayed = await p.json<{ messageId: string }>([
      'send',
      'architect',
      'builder',
      'x',
      '-s',
      'Later',
      '--delay',
      '3600',
    ])
    await p.ok(['send', 'architect', 'builder', 'x', '-s', 'Now'])
    const first = (await p.ok(['inbox', 'builder', ...HOOK])).stdout
    expect(first).toMatch(/1 new message for builder: normal from architect: "Now"/)
    expect((await p.ok(['inbox', 'builder', ...HOOK])).stdout).toBe('')
    // The hour passes: the delayed delivery becomes due (its seq is below the cursor now).
    write(
      p,
      `UPDATE deliveries SET available_at = ? WHERE message_seq = (SELECT seq FROM messages WHERE id = ?)`,
      Date.now() - 1,
      delayed.messageId,
    )
    expect((await p.ok(['inbox', 'builder', ...HOOK])).stdout).toMatch(
      /1 new message for builder: normal from architect: "Later"/,
    )
    expect((await p.ok(['inbox', 'builder', ...HOOK])).stdout).toBe('')
  })

  it('announces a held message released to an agent after its cursor moved past it', async () => {
    const p = project()
    await registerAgents(p, 'architect')
    await p.ok(['register', 'late', '-c', 'code', '-d', 'local'])
    await p.ok(['send', 'architect', 'capability:review', 'x', '-s', 'Held', '--queue'])
    await p.ok(['send', 'architect', 'late', 'x', '-s', 'Direct'])
    expect((await p.ok(['inbox', 'late', ...HOOK])).stdout).toMatch(
      /1 new message for late: normal from architect: "Direct"/,
    )
    await p.ok(['register', 'late', '-c', 'code,review', '-d', 'local'])
    expect((await p.ok(['inbox', 'late', ...HOOK])).stdout).toMatch(
      /1 new message for late: normal from architect: "Held"/,
    )
  })
})

describe('inbox --new on a database of a newer agent-comm', () => {
  it('refuses it with SCHEMA_VERSION, as every other command does', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    await p.ok(['send', 'architect', 'builder', 'x', '-s', 'one'])
    for (const table of ['__agent_comm_spool_migrations', '__agent_comm_registry_migrations']) {
      const newer = join(p.dir, `${table}.db`)
      copyFileSync(p.db, newer)
      const db = new BetterSqlite3(newer)
      db.prepare(`INSERT INTO ${table} (hash, created_at) VALUES ('from-the-future', ?)`).run(
        Date.now() + 1e12,
      )
      db.close()
      const other = await p.run(['agents', '--db', newer, '--json'])
      expect(JSON.parse(other.stdout).error.code, table).toBe('SCHEMA_VERSION')
      const hook = await p.run(['inbox', 'builder', '--new', '--db', newer])
      expect(hook.code, table).toBe(1)
      expect(hook.stdout, table).toBe('')
      expect(hook.stderr, table).toMatch(/schema is newer than this version of agent-comm understands/)
      const json = await p.run(['inbox', 'builder', '--new', '--db', newer, '--json'])
      expect(JSON.parse(json.stdout).error.code, table).toBe('SCHEMA_VERSION')
    }
  })
})

describe('inbox --new on a path that holds no agent-comm database', () => {
  it('says what is wrong with the path in the words of every other command, and creates nothing', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const missing = join(p.dir, 'typo', 'coordination.db')
    const empty = join(p.dir, 'empty.db')
    writeFileSync(empty, '')
    const cases: [string, RegExp][] = [
      [missing, /^Error: No agent-comm database at .*typo\/coordination\.db\n/],
      [p.dir, /^Error: The database path .* is a directory, not a database file\n/],
      [empty, /^Error: No agent-comm database at .*empty\.db: the file is empty\n/],
    ]
    for (const [db, message] of cases) {
      const hook = await p.run(['inbox', 'builder', ...HOOK, '--db', db])
      expect(hook.code, db).toBe(1)
      expect(hook.stdout, db).toBe('')
      expect(hook.stderr, db).toMatch(message)
      const json = await p.run(['inbox', 'builder', ...HOOK, '--db', db, '--json'])
      expect(JSON.parse(json.stdout).error.code, db).toBe('STORAGE')
      expect(JSON.parse(json.stdout).error.hint, db).toMatch(/\S/)
    }
    expect(existsSync(join(p.dir, 'typo'))).toBe(false)
  })
})
