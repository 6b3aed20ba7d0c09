import { spawn } from 'node:child_process'
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { DIRECTORY_PATH, FOREIGN_DATABASE, MISSING_DATABASE, NOT_A_FILE_PATH, Spool } from '../src/index.js'
import { tempDir } from './helpers.js'

/** The error `promise` rejects with. */
async function failure(
  promise: Promise<unknown>,
): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await promise
  } catch (error) {
    return error as { code: string; details: Record<string, unknown> }
  }
  throw new Error('expected the open to fail')
}

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url))

/**
 * Opens a spool at `path` in a child process and resolves what it printed: the error's JSON, or `opened`.
 * In a child because the failure this guards against was a synchronous loop that never returns; the child
 * is killed after `boundMs`, which then resolves `hung`.
 */
function openInChild(path: string, boundMs = 60_000): Promise<string> {
  const script = `import { Spool } from ${JSON.stringify(DIST)}
try { await (await Spool.open({ path: ${JSON.stringify(path)} })).close(); console.log('opened') }
catch (error) { console.log(JSON.stringify({ code: error.code, hint: error.hint, details: error.details })) }`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), boundMs)
    child.once('exit', (_, signal) => {
      clearTimeout(timer)
      resolve(signal === 'SIGKILL' ? 'hung' : out.trim())
    })
  })
}

describe('creating the folder of a database', () => {
  it('refuses a path through a file with a StorageError naming that file', async () => {
    const file = join(tempDir(), 'plain-file')
    writeFileSync(file, 'not a folder')
    const error = await failure(Spool.open({ path: join(file, 'sub', 'coordination.db') }))
    expect(error).toMatchObject({
      code: 'STORAGE',
      details: { reason: 'folder', folder: file, systemCode: 'ENOTDIR' },
    })
  })

  it.skipIf(!existsSync('/proc/self'))(
    'fails at once, with the folder named, under a folder that refuses new entries (/proc), instead of spinning',
    async () => {
      const printed = await openInChild('/proc/nonexistent/x.db')
      expect(printed).not.toBe('hung')
      expect(JSON.parse(printed)).toMatchObject({
        code: 'STORAGE',
        hint: expect.stringContaining('ls -ld /proc'),
        details: { reason: 'folder', path: '/proc/nonexistent/x.db', folder: '/proc/nonexistent' },
      })
    },
    90_000,
  )
})

describe('opening a database file', () => {
  it('refuses a missing file with create: false, and creates nothing', async () => {
    const path = join(tempDir(), 'typo', 'coordination.db')
    const error = await failure(Spool.open({ path, create: false }))
    expect(error.code).toBe('STORAGE')
    expect(error.details.reason).toBe(MISSING_DATABASE)
    expect(existsSync(join(path, '..'))).toBe(false)
  })

  it('refuses an empty (0-byte) file with create: false or readonly, and leaves it empty', async () => {
    const path = join(tempDir(), 'coordination.db')
    writeFileSync(path, '')
    for (const options of [{ create: false }, { readonly: true }]) {
      const error = await failure(Spool.open({ path, ...options }))
      expect(error.code).toBe('STORAGE')
      expect(error.details).toMatchObject({ reason: MISSING_DATABASE, empty: true })
      expect(statSync(path).size).toBe(0)
    }
    // Allowed to create, it starts a database there as before.
    const spool = await Spool.open({ path })
    await spool.close()
    expect(statSync(path).size).toBeGreaterThan(0)
  })

  it('refuses a directory as the database, for writing and reading alike, naming a file inside it', async () => {
    const dir = tempDir()
    for (const options of [{}, { create: false }, { readonly: true }]) {
      const error = (await failure(Spool.open({ path: dir, ...options }))) as {
        code: string
        message?: string
        hint?: string
        details: Record<string, unknown>
      }
      expect(error).toMatchObject({
        code: 'STORAGE',
        message: `The database path ${dir} is a directory, not a database file`,
        details: { reason: DIRECTORY_PATH, path: dir },
      })
      expect(error.hint).toContain(join(dir, 'coordination.db'))
    }
  })

  it('refuses a device as the database, for writing and reading alike, and writes no journal beside it', async () => {
    const journalBefore = existsSync('/dev/null-journal')
    for (const options of [{}, { create: false }, { readonly: true }]) {
      const error = await failure(Spool.open({ path: '/dev/null', ...options }))
      expect(error).toMatchObject({
        code: 'STORAGE',
        message: 'The database path /dev/null is not a regular file (a device, pipe or socket)',
        details: { reason: NOT_A_FILE_PATH, path: '/dev/null' },
      })
    }
    expect(existsSync('/dev/null-journal')).toBe(journalBefore)
  })

  it.skipIf(!existsSync('/proc/self/status') || !existsSync('/sys/kernel'))(
    'refuses a kernel file (/proc, /sys) as the database, for writing and reading alike',
    async () => {
      // /proc/self/status stats as an empty file yet reads text; a sysfs file stats as 4096 bytes.
      const sysfs = ['/sys/kernel/mm/transparent_hugepage/enabled', '/sys/kernel/profiling'].find((p) =>
        existsSync(p),
      )
      for (const path of ['/proc/self/status', '/proc/version', ...(sysfs === undefined ? [] : [sysfs])]) {
        for (const options of [{}, { create: false }, { readonly: true }]) {
          const error = await failure(Spool.open({ path, ...options }))
          expect(error, `${path} ${JSON.stringify(options)}`).toMatchObject({
            code: 'STORAGE',
            message: `The database path ${path} is not a regular file (a kernel file, as under /proc or /sys)`,
            details: { reason: NOT_A_FILE_PATH, path },
          })
        }
      }
    },
  )

  it('opens an existing database with create: false', async () => {
    const path = join(tempDir(), 'coordination.db')
    await (await Spool.open({ path })).close()
    const spool = await Spool.open({ path, create: false })
    await spool.close()
  })

  it("refuses another application's SQLite file and leaves it untouched", async () => {
    const path = join(tempDir(), 'shop.db')
    const shop = new Database(path)
    shop.exec(
      "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada')",
    )
    shop.close()

    const error = await failure(Spool.open({ path }))
    expect(error.code).toBe('STORAGE')
    expect(error.details.reason).toBe(FOREIGN_DATABASE)
    expect(error.details.tables).toEqual(['customers'])
    const tables = (file: string) => {
      const db = new Database(file, { readonly: true })
      try {
        return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all()
      } finally {
        db.close()
      }
    }
    expect(tables(path)).toEqual(['customers'])

    const spool = await Spool.open({ path, allowForeignTables: true })
    await spool.close()
    expect(tables(path)).toContain('messages')
    // Once agent-comm's tables are there, the file is ours too: no flag needed any more.
    await (await Spool.open({ path })).close()
  })
})

describe.skipIf(process.platform === 'win32')('a new database file', () => {
  it("is this user's alone: the file, its WAL and a folder made for it, while an existing file keeps its mode", async () => {
    const folder = join(tempDir(), 'made', 'for-it')
    const path = join(folder, 'coordination.db')
    const spool = await Spool.open({ path })
    await spool.send({ fromAgent: 'a', toAgent: 'b', body: 'private' })
    const mode = (file: string) => statSync(file).mode & 0o777
    expect(mode(path)).toBe(0o600)
    expect(mode(`${path}-wal`)).toBe(0o600)
    expect(mode(folder)).toBe(0o700)
    await spool.close()

    const shared = join(tempDir(), 'shared.db')
    writeFileSync(shared, '')
    chmodSync(shared, 0o640)
    await (await Spool.open({ path: shared })).close()
    expect(mode(shared)).toBe(0o640)
  })
})
