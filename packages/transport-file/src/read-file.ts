// Reading one delivery file: only a regular file, never blocking on a FIFO, never a huge one.
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats, statSync } from 'node:fs'
import { Limits, StorageError } from '@agent-comm/protocol'
import { errorCode } from './atomic.js'

/**
 * Largest file the transport reads. A valid delivery file holds at most a 1 MiB body and subject (up to six
 * bytes each as escaped JSON), two free-form JSON values of 1 MiB (metadata, payload data; more when pretty
 * printed, at most two spaces per level of their 64), and a short delivery state with its last error. No
 * valid file comes near 16 MiB; anything larger is refused unread, so a stray huge file costs one `fstat`.
 */
export const MAX_FILE_BYTES = 16 * 1024 * 1024

/**
 * Opens for reading without waiting: a FIFO put where a file should be (or swapped in after the type check)
 * opens at once instead of blocking until a writer appears, and is then refused by the `fstat` of the open
 * file. Never makes a terminal device the controlling one.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY

/** Failures to open or read that come from the one entry at `path` (its type, its permissions, a symlink loop), not the folder or the process. */
const ENTRY_ERROR_CODES = new Set(['EACCES', 'EPERM', 'ELOOP', 'EISDIR', 'ENXIO', 'ENODEV', 'EOPNOTSUPP'])

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory'
  if (stats.isFIFO()) return 'a FIFO'
  if (stats.isSocket()) return 'a socket'
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device file'
  return 'not a regular file'
}

function notRegularFileError(path: string, stats: Stats): StorageError {
  return new StorageError(`File ${path} is ${kindOf(stats)}, not a regular file; it was not read`, {
    hint: 'Only regular files are delivery files: move it out of the transport folders.',
    details: { path },
  })
}

function entryError(path: string, error: unknown): StorageError {
  const code = errorCode(error) as string
  return new StorageError(`File ${path} cannot be opened (${code}); it was not read`, {
    hint: 'Check its type and permissions, or move it out of the transport folders.',
    cause: error,
    details: { path, code },
  })
}

/**
 * The text of `path`, or undefined when it does not exist (moved away by another process). Only a regular
 * file (or a symlink to one) is read: anything else — a directory, FIFO, socket or device file — is refused
 * unopened, and one swapped in between that check and the open is refused unread (`StorageError` naming it).
 * So is a file larger than {@link MAX_FILE_BYTES}. Type and size are read from the open file, so the file
 * measured is the file read.
 */
export function readTextIfExists(path: string): string | undefined {
  let fd: number
  try {
    const stats = statSync(path, { throwIfNoEntry: false })
    if (stats === undefined) return undefined
    if (!stats.isFile()) throw notRegularFileError(path, stats)
    fd = openSync(path, READ_FLAGS)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    if (ENTRY_ERROR_CODES.has(errorCode(error) as string)) throw entryError(path, error)
    throw error
  }
  try {
    const stats = fstatSync(fd)
    if (!stats.isFile()) throw notRegularFileError(path, stats)
    const { size } = stats
    if (size > MAX_FILE_BYTES) {
      throw new StorageError(
        `File ${path} is ${size} bytes, more than any valid delivery (${MAX_FILE_BYTES} bytes); it was not read`,
        {
          hint: `No message within the protocol's limits (body ${Limits.bodyMaxBytes} bytes, JSON ${Limits.jsonMaxBytes} bytes) is this large: move it out of the transport folders.`,
          details: { path, size },
        },
      )
    }
    return readFileSync(fd, 'utf8')
  } catch (error) {
    if (ENTRY_ERROR_CODES.has(errorCode(error) as string)) throw entryError(path, error)
    throw error
  } finally {
    closeSync(fd)
  }
}
