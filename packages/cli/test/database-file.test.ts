import { existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import { cleanEnv, runCli, tempDir } from './helpers.js'

// Commands that read or work on messages must never create the database they were pointed at: a typo in
// --db, AGENT_COMM_DB_PATH or AGENT_COMM_PROJECT_ROOT would otherwise report "nothing" with exit code 0.
const NO_CREATE: readonly (readonly string[])[] = [
  ['agents'],
  ['stats'],
  ['status', 'msg_1'],
  ['search', 'hello'],
  ['conversations'],
  ['conversation', 'conv_1'],
  ['failed'],
  ['poll', 'builder'],
  ['send', 'a', 'b', 'hi', '--allow-unregistered'],
]

describe('a missing database', () => {
  it('is an error for every command but register, and is not created', async () => {
    const dir = tempDir()
    const db = join(dir, 'typo', 'coordination.db')
    for (const args of NO_CREATE) {
      const run = await runCli([...args, '--db', db], { cwd: dir, env: cleanEnv() })
      expect(run.code, args.join(' ')).toBe(1)
      expect(run.stderr, args.join(' ')).toContain(`Error: No agent-comm database at ${db}`)
      expect(run.stderr).toContain('agent-comm register')
      expect(existsSync(join(dir, 'typo')), args.join(' ')).toBe(false)
    }
    const json = await runCli(['agents', '--json'], { cwd: dir, env: cleanEnv({ AGENT_COMM_DB_PATH: db }) })
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'STORAGE' })
    const root = await runCli(['stats'], {
      cwd: dir,
      env: cleanEnv({ AGENT_COMM_PROJECT_ROOT: join(dir, 'nope') }),
    })
    expect(root.code).toBe(1)
    expect(root.stderr).toContain(`No agent-comm database at ${join(dir, 'nope', 'data', 'coordination.db')}`)
  })

  it('is what an empty (0-byte) file holds: read commands refuse it and leave it empty', async () => {
    const dir = tempDir()
    const db = join(dir, 'truncated.db')
    writeFileSync(db, '')
    for (const args of [['stats'], ['agents'], ['inbox', 'b']]) {
      const run = await runCli([...args, '--db', db], { cwd: dir, env: cleanEnv() })
      expect(run.code, args.join(' ')).toBe(1)
      expect(run.stderr).toContain(`Error: No agent-comm database at ${db}: the file is empty`)
      expect(run.stderr).toContain('restore it from a backup')
      expect(statSync(db).size, args.join(' ')).toBe(0)
    }
    // register (or --create) still starts a database there.
    expect((await runCli(['register', 'a', '-c', 'x', '-d', 'here', '--db', db], { cwd: dir })).code).toBe(0)
    expect(statSync(db).size).toBeGreaterThan(0)
  })

  it('is created by register, or by any command given --create', async () => {
    const dir = tempDir()
    const created = join(dir, 'created.db')
    const agents = await runCli(['agents', '--create', '--db', created], { cwd: dir, env: cleanEnv() })
    expect(agents.code).toBe(0)
    expect(agents.stdout).toBe('No agents registered.\n')
    const registered = join(dir, 'sub', 'registered.db')
    const register = await runCli(['register', 'a', '-c', 'x', '-d', 'here', '--db', registered], {
      cwd: dir,
      env: cleanEnv(),
    })
    expect(register.code).toBe(0)
    expect(existsSync(registered)).toBe(true)
  })
})

describe('a database path that is not a file', () => {
  it('is a directory: every command says so and names a file inside it', async () => {
    const dir = tempDir()
    for (const args of [['register', 'z', '-c', 'a', '-d', 'b'], ...NO_CREATE]) {
      const run = await runCli([...args, '--db', dir, '--json'], { cwd: dir, env: cleanEnv() })
      expect(run.code, args.join(' ')).toBe(1)
      expect(JSON.parse(run.stdout).error, args.join(' ')).toMatchObject({
        code: 'STORAGE',
        message: `The database path ${dir} is a directory, not a database file`,
        hint: `Name a file inside it, e.g. ${join(dir, 'coordination.db')}.`,
      })
    }
  })

  it.skipIf(!existsSync('/proc/self/status'))(
    'is a device or a kernel file (/proc): refused as not a regular file, never as an empty database',
    async () => {
      const dir = tempDir()
      for (const db of ['/dev/null', '/proc/self/status']) {
        const run = await runCli(['stats', '--db', db, '--json'], { cwd: dir, env: cleanEnv() })
        expect(run.code, db).toBe(1)
        expect(JSON.parse(run.stdout).error, db).toMatchObject({
          code: 'STORAGE',
          message: expect.stringContaining(`The database path ${db} is not a regular file`),
        })
      }
    },
  )

  it('is empty: a usage error rather than the current folder', async () => {
    const dir = tempDir()
    for (const args of [
      ['agents', '--db='],
      ['register', 'z', '-c', 'a', '-d', 'b', '--db', ''],
    ]) {
      const run = await runCli(args, { cwd: dir, env: cleanEnv() })
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr).toContain('Error: --db is empty: it needs a database file or a PostgreSQL URL')
    }
  })
})

describe("another application's SQLite file", () => {
  it('is refused unless --allow-foreign-tables is given', async () => {
    const dir = tempDir()
    const path = join(dir, 'shop.db')
    const shop = new DatabaseSync(path)
    shop.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)')
    shop.close()
    const refused = await runCli(['register', 'a', '-c', 'x', '-d', 'here', '--db', path], {
      cwd: dir,
      env: cleanEnv(),
    })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("another application's database (tables: customers)")
    expect(refused.stderr).toContain('--allow-foreign-tables')
    const check = new DatabaseSync(path, { readOnly: true })
    expect(
      check
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((row) => row.name),
    ).toEqual(['customers'])
    check.close()
    const allowed = await runCli(
      ['register', 'a', '-c', 'x', '-d', 'here', '--db', path, '--allow-foreign-tables'],
      {
        cwd: dir,
        env: cleanEnv(),
      },
    )
    expect(allowed.code).toBe(0)
  })
})
