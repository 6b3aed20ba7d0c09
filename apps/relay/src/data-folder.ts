import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { type Logger, StorageError } from '@agent-comm/protocol'
import { createFolder, FolderError } from '@agent-comm/protocol/create-folder'

/** The files SQLite keeps for a database in WAL mode: the database, its write-ahead log and shared memory. */
function databaseFiles(dbPath: string): string[] {
  return [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]
}

/**
 * Makes the relay's data folder (0700 when it creates it) and its database files readable by their owner
 * only, before the database is opened: `relay.db` holds every message in clear. The folder may already
 * exist with looser permissions (made by hand, or by another tool), so the files are not left to the umask:
 * the database is created 0600 (SQLite gives its `-wal` and `-shm` files the database's permissions) and any
 * existing one, with its `-wal` and `-shm`, is set to 0600. A folder that others may read is not changed —
 * it may be shared on purpose — but logged as a warning.
 */
export function secureDataFolder(dataDir: string, dbPath: string, logger: Logger): void {
  makeDataFolder(dataDir)
  if (process.platform !== 'win32') {
    const mode = statSync(dataDir).mode & 0o777
    if ((mode & 0o077) !== 0) {
      logger.warn(
        { dataDir, mode: `0${mode.toString(8)}` },
        `the relay's data folder is readable by other users; restrict it: chmod 700 ${dataDir}`,
      )
    }
  }
  if (!existsSync(dbPath)) closeSync(openSync(dbPath, 'a', 0o600))
  for (const file of databaseFiles(dbPath)) {
    if (existsSync(file)) chmodSync(file, 0o600)
  }
}

/**
 * Creates the data folder (0700) with its missing parents: not a recursive mkdir, which spins forever at
 * full CPU, deaf to Ctrl-C, under /proc (see createFolder). A folder that cannot be made is a
 * `StorageError` naming the folder at fault.
 */
function makeDataFolder(dataDir: string): void {
  try {
    createFolder(dataDir, { mode: 0o700 })
  } catch (error) {
    if (!(error instanceof FolderError)) throw error
    throw new StorageError(`Cannot create the relay's data folder ${dataDir}: ${error.message}`, {
      hint: `Check ${error.folder} and the folder above it (ls -ld ${dirname(error.folder)}): this user must be able to create folders there. Or choose another data folder (--data-dir).`,
      cause: error,
      details: { reason: 'folder', path: dataDir, folder: error.folder, systemCode: error.systemCode },
    })
  }
}
