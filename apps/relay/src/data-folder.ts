import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs'
import type { Logger } from '@agent-comm/protocol'

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
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
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
