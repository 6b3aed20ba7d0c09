import {
  accessSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { AgentCommError, errorMessage, StorageError } from '@agent-comm/protocol'
import { createFolder, FolderError } from '@agent-comm/protocol/create-folder'
import type BetterSqlite3 from 'better-sqlite3'
import { isKernelFile } from './kernel-file.js'

let Database: typeof BetterSqlite3 | undefined

/**
 * better-sqlite3, loaded when the first connection opens rather than when the spool is imported: a process
 * on PostgreSQL never needs it, and its 15 module files were part of every import of the coordinator. It is
 * CommonJS, so `require` returns the same module an `import` of it would.
 */
function betterSqlite3(): typeof BetterSqlite3 {
  Database ??= createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3
  return Database
}

/** Connection settings shared by every agent-comm process that opens the same file. */
export interface ConnectionOptions {
  /** How long a writer waits for another process's lock before giving up, in ms. */
  busyTimeoutMs?: number
  /** Open for reading only, through {@link openReadOnlyConnection}. */
  readonly?: boolean
  /**
   * WAL frames (pages) after which a commit of this connection checkpoints the WAL into the database
   * (default {@link WAL_AUTOCHECKPOINT_PAGES}; SQLite's own is 1,000). 0 turns automatic checkpoints off.
   */
  walAutocheckpointPages?: number
  /**
   * Size in bytes the WAL file is cut back to when it starts over after a checkpoint (default
   * {@link WAL_SIZE_LIMIT_BYTES}); -1 keeps SQLite's default, a WAL that never shrinks while the file is open.
   */
  walSizeLimitBytes?: number
}

/**
 * Default WAL auto-checkpoint, in pages (4 KiB each: a WAL of up to about 40 MiB). A checkpoint costs two
 * fsyncs whatever its size (synchronous=NORMAL syncs only there) and writes each page once however often the
 * WAL holds it, so one every 10,000 frames rather than SQLite's 1,000 made an awaited `coordinator.send`
 * 11–26 % faster with or without an idempotency key (coordinator README, "Request / reply and idempotency
 * keys", 2026-11-30, load 13–27). The price: a commit that checkpoints pauses longer (a 10,000-frame
 * checkpoint took 125–225 ms on a loaded 2-core machine, against 15–47 ms for 1,000), and the first opener
 * after a crash reads a WAL up to 10 times as long. Every connection that writes checkpoints at its own
 * setting, so processes of older versions (SQLite's 1,000) on the same file are safe, only checkpoint sooner.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000

/**
 * Default size the WAL file is cut back to after a checkpoint lets it start over: 64 MiB, above what
 * {@link WAL_AUTOCHECKPOINT_PAGES} lets it reach, so ordinary use never truncates (and regrows) it; a WAL
 * that grew past it — a large batch, or checkpoints held back by a long read — gives the space back.
 */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024

/** How an agent-comm database file may be opened: whether it may be created, and what it may already hold. */
export interface DatabaseFileOptions {
  /**
   * Create the file (and its folder) when it is missing (default true). With false a missing file is a
   * `StorageError` whose `details.reason` is `'missing'`, so a mistyped path is never a new, empty database.
   */
  create?: boolean | undefined
  /**
   * Accept a file that holds other applications' tables and none of agent-comm's (default false: such a
   * file is refused, `details.reason` `'foreign-tables'`, rather than having agent-comm's tables added to it).
   */
  allowForeignTables?: boolean | undefined
  /**
   * Open an existing database for reading only (default false), for a user who may read the file but not
   * write it or its folder: nothing is migrated or written, and writes fail with a `StorageError` whose
   * `details.reason` is `'read-only'`. Implies `create: false`. When SQLite cannot read the WAL database in
   * place (its `-shm` file is missing and the folder is not writable), a private snapshot copy is opened
   * instead and removed on close: such a view does not see later writes.
   */
  readonly?: boolean | undefined
}

/** `StorageError.details.reason` of a database file that does not exist and may not be created. */
export const MISSING_DATABASE = 'missing'

/** `StorageError.details.reason` of a file that holds only other applications' tables. */
export const FOREIGN_DATABASE = 'foreign-tables'

/** `StorageError.details.reason` of a write refused because this user may only read the database. */
export const READ_ONLY_DATABASE = 'read-only'

/** `details.reason` of the `StorageError` for a database path that names a directory. */
export const DIRECTORY_PATH = 'directory'

/**
 * `details.reason` of the `StorageError` for a database path that names a device, pipe or socket, or a
 * kernel file (/proc, /sys, or any file that stats as empty yet reads data: see `isKernelFile`).
 */
export const NOT_A_FILE_PATH = 'not-a-file'

/**
 * Makes sure `path` may be opened as asked: creates its folder when the file may be created, or throws a
 * `StorageError` (reason {@link MISSING_DATABASE}) when it is missing and may not be. `:memory:` passes.
 */
export function prepareDatabaseFile(path: string, options: DatabaseFileOptions = {}): void {
  if (path === ':memory:') {
    if (options.readonly === true) {
      throw new StorageError('An in-memory database cannot be opened read-only', {
        hint: 'Give the path of an existing database file, or open it without readonly.',
      })
    }
    return
  }
  // SQLite cannot open a folder, and says so as "disk I/O error" or, through the write check, as a
  // read-only file: named here, for writers and readers alike.
  const stat = statSync(path, { throwIfNoEntry: false })
  if (stat?.isDirectory() === true) {
    throw new StorageError(`The database path ${path} is a directory, not a database file`, {
      hint: `Name a file inside it, e.g. ${join(path, 'coordination.db')}.`,
      details: { reason: DIRECTORY_PATH, path },
    })
  }
  // A device (/dev/null), pipe or socket: SQLite fails on it with "disk I/O error" after creating its
  // journal beside it (/dev/null-journal, when run as root), or waits on a pipe for a writer.
  // A kernel file (/proc/self/status) stats as a regular, often empty file: it would be reported as an
  // empty database, or opened and fail on its generated text.
  if (stat !== undefined && (!stat.isFile() || isKernelFile(path, stat))) {
    const what = stat.isFile() ? 'a kernel file, as under /proc or /sys' : 'a device, pipe or socket'
    throw new StorageError(`The database path ${path} is not a regular file (${what})`, {
      hint: 'Name a database file, e.g. ./data/coordination.db (created on first use).',
      details: { reason: NOT_A_FILE_PATH, path },
    })
  }
  if (options.readonly !== true && (options.create ?? true)) {
    try {
      // The messages are the agents' and their people's: a new database, and any folder made for it, are
      // this user's alone (0600, 0700), as the relay's are; SQLite gives the -wal and -shm files the
      // database's mode. An existing file keeps the mode its owner chose (shared on purpose, say).
      createFolder(dirname(path), { mode: 0o700 })
      if (stat === undefined) createPrivateFile(path)
    } catch (error) {
      // EACCES, EROFS, ENOTDIR, ENOENT under /proc…: the machine's refusal, with the folder it concerns.
      const folder = error instanceof FolderError ? error.folder : dirname(path)
      const systemCode = error instanceof FolderError ? error.systemCode : (error as { code?: string }).code
      throw new StorageError(
        `Cannot create the folder of the database ${path}: ${(error as Error).message}`,
        {
          hint: `Check ${folder} and the folder above it (ls -ld ${dirname(folder)}): this user must be able to create folders there. Or choose another path.`,
          cause: error,
          details: { reason: 'folder', path, folder, systemCode },
        },
      )
    }
    return
  }
  if (!existsSync(path)) {
    throw new StorageError(`No agent-comm database at ${path}`, {
      hint: 'Check the path (a typo opens nothing); open it with create: true to start a new database there.',
      details: { reason: MISSING_DATABASE, path },
    })
  }
  // An empty file (what a crashed copy or a truncation on a full disk leaves) holds no database either:
  // opened, SQLite would make it a fresh one, and a read would report an empty queue.
  if (isEmptyFile(path)) {
    throw new StorageError(`No agent-comm database at ${path}: the file is empty`, {
      hint: 'Check the path; if the file was a database, restore it from a backup. Open it with create: true to start a new database there.',
      details: { reason: MISSING_DATABASE, path, empty: true },
    })
  }
}

/** True for a 0-byte file without a -wal holding anything: no database, only its name. */
function isEmptyFile(path: string): boolean {
  const size = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0
  return (
    statSync(path, { throwIfNoEntry: false })?.isFile() === true &&
    size(path) === 0 &&
    size(`${path}-wal`) === 0
  )
}

/**
 * Opens a SQLite file with the settings that let many processes share it safely: WAL (readers never block
 * the writer), a busy timeout (writers queue instead of failing with "database is locked"),
 * synchronous=NORMAL (durable across process crashes; an OS crash can lose the last commits, never corrupt),
 * and foreign keys on.
 */
export function openConnection(path: string, options: ConnectionOptions = {}): BetterSqlite3.Database {
  if (options.readonly === true) return openReadOnlyConnection(path, options)
  refuseUnwritableFile(path)
  return connect(path, options)
}

/**
 * SQLite opens a file it may not write read-only without a word, and a WAL database that another process
 * holds open then even passes the migrations check; the first write would fail much later. Said at open
 * instead, so callers (the CLI's read commands) can choose a read-only open.
 */
function refuseUnwritableFile(path: string): void {
  if (path === ':memory:') return
  try {
    accessSync(path, constants.W_OK)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      if (!isReadable(path)) {
        // Not read-only but unreadable (mode 000, another user's file): neither read nor copied.
        throw new StorageError(
          `The database at ${path} cannot be read by this user (${(error as Error).message})`,
          {
            hint: `Ask its owner for read access to the file (ls -l ${path}), and write access to change it; or use another database file.`,
            cause: error,
            details: { reason: 'unreadable', path, systemCode: code },
          },
        )
      }
      throw readOnlyError(path, (error as Error).message, error, { systemCode: code })
    }
    // ENOENT: a new file, created by the open.
  }
}

function isReadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK)
    return true
  } catch {
    return false
  }
}

/** The error of a write this user may not make: {@link READ_ONLY_DATABASE}, with what to do. */
function readOnlyError(
  path: string,
  message: string,
  cause: unknown,
  codes: { sqliteCode?: string; systemCode?: string },
): StorageError {
  return new StorageError(`The database at ${path} is read-only for this user (${message})`, {
    hint: 'Ask its owner for write access to the file and its folder, or work on a copy of it.',
    cause,
    details: { reason: READ_ONLY_DATABASE, path, ...codes },
  })
}

/**
 * Opens an existing database for reading only. SQLite reads a WAL database in place when its `-shm` file
 * exists or may be created; when neither (a folder this user may not write, and no process holding the
 * database open), it fails with SQLITE_READONLY_DIRECTORY or SQLITE_CANTOPEN. Then a snapshot is read
 * instead: the file and its `-wal` copied into a private temporary folder, which closing the connection
 * removes. (SQLite's `immutable` URI parameter would avoid the copy, but better-sqlite3 only accepts URIs
 * when the process sets SQLITE_USE_URI=1, and immutable reads of a file another process writes may
 * return a torn view.)
 */
export function openReadOnlyConnection(
  path: string,
  options: Omit<ConnectionOptions, 'readonly'> = {},
): BetterSqlite3.Database {
  try {
    return connect(path, { ...options, readonly: true })
  } catch (error) {
    const details = (error as { details?: { sqliteCode?: unknown; reason?: unknown } }).details
    const code = String(details?.sqliteCode ?? '')
    // A full disk cannot take the -shm file a WAL database is read through: the snapshot needs none.
    const full = details?.reason === DISK_FULL
    if (!code.startsWith('SQLITE_READONLY') && !code.startsWith('SQLITE_CANTOPEN') && !full) throw error
  }
  return openSnapshot(path, options)
}

/** Opens a read-only snapshot of `path` in a temporary folder that closing the connection removes. */
function openSnapshot(path: string, options: ConnectionOptions): BetterSqlite3.Database {
  let folder: string
  try {
    folder = mkdtempSync(join(tmpdir(), 'agent-comm-snapshot-'))
  } catch (error) {
    throw new StorageError(
      `Cannot read the database ${path} in place (its folder is read-only for this user and it has no -shm file), nor copy it into the temporary folder ${tmpdir()}: ${(error as Error).message}`,
      {
        hint: 'Set TMPDIR to a folder this user may write, or ask the database owner to make its folder writable.',
        cause: error,
        details: { reason: 'snapshot', path, systemCode: (error as { code?: string }).code },
      },
    )
  }
  try {
    const copy = join(folder, basename(path))
    copyConsistently(path, copy)
    const sqlite = connect(copy, { ...options, readonly: true })
    const close = sqlite.close.bind(sqlite)
    // Whoever owns the connection (spool, registry) closes it as usual; the snapshot goes with it.
    sqlite.close = () => {
      try {
        return close()
      } finally {
        rmSync(folder, { recursive: true, force: true })
      }
    }
    return sqlite
  } catch (error) {
    rmSync(folder, { recursive: true, force: true })
    throw error
  }
}

/**
 * Copies the database and its `-wal` so that together they hold one committed state: a writer committing
 * or checkpointing between the two copies changes a file's size or modification time, and the copy is
 * taken again.
 */
function copyConsistently(path: string, copy: string): void {
  const attempts = 5
  for (let attempt = 1; ; attempt++) {
    const before = fingerprint(path)
    try {
      copyFileSync(path, copy)
      rmSync(`${copy}-wal`, { force: true })
      if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`)
    } catch (error) {
      throw new StorageError(`Cannot read the database ${path}: ${(error as Error).message}`, {
        hint: 'Check that this user may read the file and its -wal file (ls -l), or ask its owner for a copy.',
        cause: error,
        details: { reason: 'unreadable', path, systemCode: (error as { code?: string }).code },
      })
    }
    if (fingerprint(path) === before) return
    if (attempt === attempts) {
      throw new StorageError(`The database ${path} changed during each of ${attempts} attempts to copy it`, {
        hint: 'It is being written continuously; retry, or ask its owner for a copy.',
        details: { reason: 'snapshot' },
      })
    }
  }
}

/** Size, modification time and inode of the database and its `-wal`: what a commit or checkpoint changes. */
function fingerprint(path: string): string {
  return [path, `${path}-wal`]
    .map((file) => {
      const stat = statSync(file, { bigint: true, throwIfNoEntry: false })
      return stat === undefined ? '-' : `${stat.ino}:${stat.size}:${stat.mtimeNs}`
    })
    .join('|')
}

/** Opens `path` and applies the shared settings; a read-only connection is probed, as SQLite opens lazily. */
function connect(path: string, options: ConnectionOptions): BetterSqlite3.Database {
  const Database = betterSqlite3()
  let sqlite: BetterSqlite3.Database
  try {
    sqlite = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    })
  } catch (error) {
    throw toStorageError(error, path)
  }
  try {
    const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000))
    sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`)
    if (!options.readonly && path !== ':memory:') enableWal(sqlite, busyTimeoutMs)
    sqlite.pragma('synchronous = NORMAL')
    if (!options.readonly && path !== ':memory:') limitWal(sqlite, options)
    // 2 MiB of page cache per connection (SQLite's default size): native memory outside the JS heap that a
    // long-lived consumer fills as it reads (a coordinator's spool and registry share one connection), with
    // pages of messages it has consumed already. 32 MiB lifted a consumer to 142 MiB RSS after 100k messages
    // (bench/consumer-rss.bench.mjs in the coordinator), 8 MiB still kept it 6 MiB above this. The claim
    // path touches a few index pages: a claim among 1M queued took 0.97-1.00x one among 1k with 2 MiB, and
    // 0.89-1.08x with 8 MiB (the spool bench's figure (e), two runs each side by side, load 12-26).
    sqlite.pragma('cache_size = -2048')
    sqlite.pragma('foreign_keys = ON')
    // The first read is where SQLite finds it cannot open a WAL database's -shm in a read-only folder.
    if (options.readonly === true) sqlite.prepare('SELECT count(*) FROM sqlite_master').get()
    return sqlite
  } catch (error) {
    sqlite.close()
    throw toStorageError(error, path)
  }
}

/** Sets how often the WAL is checkpointed and how large its file may stay (see {@link WAL_AUTOCHECKPOINT_PAGES}). */
function limitWal(sqlite: BetterSqlite3.Database, options: ConnectionOptions): void {
  const pages = Math.max(0, Math.floor(options.walAutocheckpointPages ?? WAL_AUTOCHECKPOINT_PAGES))
  const bytes = Math.max(-1, Math.floor(options.walSizeLimitBytes ?? WAL_SIZE_LIMIT_BYTES))
  sqlite.pragma(`wal_autocheckpoint = ${pages}`)
  sqlite.pragma(`journal_size_limit = ${bytes}`)
}

/**
 * Switches to WAL. On a brand-new file two processes doing this at once can get SQLITE_BUSY without
 * SQLite's busy handler being consulted (the switch needs an exclusive lock that is not waited for), so we
 * retry with a short backoff for up to the busy timeout.
 */
function enableWal(sqlite: BetterSqlite3.Database, busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs
  for (let attempt = 0; ; attempt++) {
    try {
      sqlite.pragma('journal_mode = WAL')
      return
    } catch (error) {
      const code = (error as { code?: string }).code ?? ''
      if (!code.startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw error
      Atomics.wait(SLEEPER, 0, 0, Math.min(2 ** attempt, 50))
    }
  }
}

/** Lets {@link enableWal} sleep synchronously (opening is synchronous in better-sqlite3). */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4))

/** `StorageError.details.reason` of a failure because the disk holding the database is full. */
export const DISK_FULL = 'full'

/** Less free space than this beside the database, after an I/O error, means the disk was full. */
const FULL_DISK_BYTES = 64 * 1024

/** True when the filesystem holding `path` has (almost) no room left; false when it cannot say. */
function diskIsFull(path: string): boolean {
  if (path === ':memory:') return false
  try {
    const stats = statfsSync(dirname(path))
    return stats.bavail * stats.bsize < FULL_DISK_BYTES
  } catch {
    return false
  }
}

/** Maps a SQLite failure to a {@link StorageError} that says what to check. Our own errors pass through. */
export function toStorageError(error: unknown, path: string): AgentCommError {
  if (error instanceof AgentCommError) return error
  const code = (error as { code?: string }).code ?? ''
  const message = errorMessage(error)
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StorageError(`The database ${path} stayed locked by another process: ${message}`, {
      hint: `Check for a process holding a long transaction on it (lsof ${path}), then retry.`,
      cause: error,
      details: { sqliteCode: code },
      transient: true,
    })
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new StorageError(`The file ${path} is not a usable agent-comm database (${message})`, {
      hint: 'Check the path; if the file is damaged, restore it from a backup or move it aside to start afresh.',
      cause: error,
      details: { sqliteCode: code },
    })
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM') {
    return readOnlyError(path, message, error, { sqliteCode: code })
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new StorageError(`Cannot open the database ${path} for writing (${message})`, {
      hint: 'Check that the folder exists and that this user may write to the file and its folder.',
      cause: error,
      details: { sqliteCode: code },
    })
  }
  // SQLite reports a disk that cannot take the -shm file (32 KiB, sized when the database is opened in WAL
  // mode) or a page write as an I/O error, not SQLITE_FULL: the free space says which it was.
  if (code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && diskIsFull(path))) {
    return new StorageError(`The disk holding ${path} is full`, {
      hint: 'Free space, then retry.',
      cause: error,
      details: { sqliteCode: code, reason: DISK_FULL },
      transient: true,
    })
  }
  return new StorageError(`Database error on ${path}: ${message}`, {
    cause: error,
    details: { sqliteCode: code },
  })
}

/**
 * Creates `path` empty with mode 0600 (SQLite makes an empty file a new database). Best effort: one made
 * meanwhile is kept, and where this fails (a folder this user may not write) SQLite's own open fails next,
 * with the error every command already explains.
 */
function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600))
  } catch {
    // See above: EEXIST is another opener's file; anything else, SQLite reports.
  }
}

/**
 * Whether the SQLite database holds the table `name`: for stores that share the spool's file, to look for
 * their tables on the connection `spool.openShared` hands them before making any.
 */
export function hasTable(sqlite: BetterSqlite3.Database, name: string): boolean {
  return (
    sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
  )
}
