import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { AgentCommError, StorageError } from '@agent-comm/protocol'
import type BetterSqlite3 from 'better-sqlite3'
import Database from 'better-sqlite3'

/** Connection settings shared by every agent-comm process that opens the same file. */
export interface ConnectionOptions {
  /** How long a writer waits for another process's lock before giving up, in ms. */
  busyTimeoutMs?: number
  readonly?: boolean
}

/** How an agent-comm database file may be opened: whether it may be created, and what it may already hold. */
export interface DatabaseFileOptions {
  /**
   * Create the file (and its folder) when it is missing (default true). With false a missing file is a
   * `StorageError` whose `details.reason` is `'missing'`, so a mistyped path is never a new, empty database.
   */
  create?: boolean
  /**
   * Accept a file that holds other applications' tables and none of agent-comm's (default false: such a
   * file is refused, `details.reason` `'foreign-tables'`, rather than having agent-comm's tables added to it).
   */
  allowForeignTables?: boolean
}

/** `StorageError.details.reason` of a database file that does not exist and may not be created. */
export const MISSING_DATABASE = 'missing'

/** `StorageError.details.reason` of a file that holds only other applications' tables. */
export const FOREIGN_DATABASE = 'foreign-tables'

/**
 * Makes sure `path` may be opened as asked: creates its folder when the file may be created, or throws a
 * `StorageError` (reason {@link MISSING_DATABASE}) when it is missing and may not be. `:memory:` passes.
 */
export function prepareDatabaseFile(path: string, options: DatabaseFileOptions = {}): void {
  if (path === ':memory:') return
  if (options.create ?? true) {
    try {
      mkdirSync(dirname(path), { recursive: true })
    } catch (error) {
      // EACCES, EROFS, ENOTDIR…: the machine's refusal, reported with the folder it concerns.
      throw new StorageError(
        `Cannot create the folder of the database ${path}: ${(error as Error).message}`,
        {
          hint: 'Check that this user may create and write that folder (ls -ld), or choose another path.',
          cause: error,
          details: { reason: 'folder', path, systemCode: (error as { code?: string }).code },
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
}

/**
 * Opens a SQLite file with the settings that let many processes share it safely: WAL (readers never block
 * the writer), a busy timeout (writers queue instead of failing with "database is locked"),
 * synchronous=NORMAL (durable across process crashes; an OS crash can lose the last commits, never corrupt),
 * and foreign keys on.
 */
export function openConnection(path: string, options: ConnectionOptions = {}): BetterSqlite3.Database {
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
    // 32 MiB of page cache (the default is 2 MiB): the claim and unique indexes of a busy spool stay hot.
    sqlite.pragma('cache_size = -32768')
    sqlite.pragma('foreign_keys = ON')
    return sqlite
  } catch (error) {
    sqlite.close()
    throw toStorageError(error, path)
  }
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

/** Maps a SQLite failure to a {@link StorageError} that says what to check. Our own errors pass through. */
export function toStorageError(error: unknown, path: string): AgentCommError {
  if (error instanceof AgentCommError) return error
  const code = (error as { code?: string }).code ?? ''
  const message = error instanceof Error ? error.message : String(error)
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StorageError(`The database ${path} stayed locked by another process: ${message}`, {
      hint: `Check for a process holding a long transaction on it (lsof ${path}), or raise the busy timeout.`,
      cause: error,
      details: { sqliteCode: code },
    })
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new StorageError(`The file ${path} is not a usable agent-comm database (${message})`, {
      hint: 'Check the path; if the file is damaged, restore it from a backup or move it aside to start afresh.',
      cause: error,
      details: { sqliteCode: code },
    })
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') {
    return new StorageError(`Cannot open the database ${path} for writing (${message})`, {
      hint: 'Check that the folder exists and that this user may write to the file and its folder.',
      cause: error,
      details: { sqliteCode: code },
    })
  }
  if (code === 'SQLITE_FULL') {
    return new StorageError(`The disk holding ${path} is full`, {
      hint: 'Free space, then retry.',
      cause: error,
    })
  }
  return new StorageError(`Database error on ${path}: ${message}`, {
    cause: error,
    details: { sqliteCode: code },
  })
}
