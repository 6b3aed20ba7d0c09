import { randomBytes } from 'node:crypto'
import { existsSync, linkSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { AgentCommError, errorMessage, StorageError } from '@agent-comm/protocol'
import { FolderError } from '@agent-comm/protocol/create-folder'

/** The `code` of a Node.js system error, if any. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * A temp file beside `path`, so the final rename or link stays on one filesystem. Its name ends in `.tmp`,
 * never `.json`, so a temp file left by a crash is never read as a delivery.
 */
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path, '.json')}.${randomBytes(6).toString('hex')}.tmp`)
}

function writeTemp(path: string, text: string): string {
  const temp = tempPath(path)
  try {
    // flush: the data reaches the disk before the rename publishes it, so even a power cut leaves the old
    // file or the new one, never a truncated one.
    writeFileSync(temp, text, { flush: true })
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(temp, text, { flush: true })
  }
  return temp
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    // Already gone is fine; anything else is a real problem with the folder.
    if (errorCode(error) !== 'ENOENT') throw error
  }
}

/** Replaces (or creates) `path` with `text` in one step: readers see the old file or the new one, never half. */
export function writeFileAtomic(path: string, text: string): void {
  const temp = writeTemp(path, text)
  try {
    renameSync(temp, path)
  } catch (error) {
    removeQuietly(temp)
    throw error
  }
}

/**
 * Creates `path` with `text` only if it does not exist, in one step (a hard link of a complete temp file),
 * and returns false if it existed. Two processes creating the same file at once: exactly one wins.
 */
export function createFileExclusive(path: string, text: string): boolean {
  const temp = writeTemp(path, text)
  try {
    linkSync(temp, path)
    return true
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false
    throw error
  } finally {
    removeQuietly(temp)
  }
}

/**
 * Moves `from` to `to` atomically and returns true, or returns false when `from` is gone: another process
 * moved it first. This is what keeps two claimers from taking the same delivery.
 */
export function tryRename(from: string, to: string): boolean {
  try {
    renameSync(from, to)
    return true
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error
    if (existsSync(dirname(to))) return false
  }
  // The target folder was missing (first delivery of this state for the agent, or removed by hand).
  mkdirSync(dirname(to), { recursive: true })
  return tryRename(from, to)
}

/** Wraps a filesystem failure in a `StorageError` that names the root; agent-comm errors pass through. */
export function toStorageError(error: unknown, root: string): AgentCommError {
  if (error instanceof AgentCommError) return error
  const code = error instanceof FolderError ? error.systemCode : errorCode(error)
  const message = errorMessage(error)
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? `Check that this user may write to ${root} and every folder in it.`
      : code === 'ENOSPC'
        ? 'The disk is full: free space, then retry.'
        : undefined
  return new StorageError(`File transport at ${root} failed: ${message}`, {
    hint,
    cause: error,
    // Details are shown key by key (inspect, --json): no key rather than an undefined one.
    details: { root, ...(code === undefined ? {} : { code }) },
  })
}
