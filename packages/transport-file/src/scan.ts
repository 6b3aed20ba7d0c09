import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { priorityRank, StorageError } from '@agent-comm/protocol'
import { errorCode } from './atomic.js'
import type { LeaseName } from './layout.js'
import { type Layout, messageIdOfFile, parseLeaseFileName } from './layout.js'
import { readTextIfExists } from './read-file.js'
import { type DeliveryRecord, isExpired, isSettled, leaseAttempt, parseDeliveryRecord } from './record.js'

/**
 * How long past its end an unsettled lease (renamed, content not yet rewritten) is left alone. Settling
 * takes microseconds, so a lease still unsettled this long after it ran out belongs to a process that died.
 */
export const UNSETTLED_GRACE_MS = 5_000

interface CachedFile {
  /** Identity of the file the record was read from; a rename, rewrite or replacement changes it. */
  stamp: string
  /** The file's record, or why it cannot be read (damaged, too large, or breaking the protocol). */
  record: DeliveryRecord | StorageError
}

/** Told once per version of a file that cannot be read, with the `StorageError` that names it. */
export type DamagedFileReporter = (path: string, error: StorageError) => void

function readRecord(path: string, text: string, messageId: string): DeliveryRecord {
  const record = parseDeliveryRecord(text, path)
  if (record.message.id !== messageId) {
    throw new StorageError(`File ${path} holds message '${record.message.id}', not '${messageId}'`, {
      hint: 'A delivery file is named for its message id: rename the file or fix the id in it.',
      details: { path },
    })
  }
  return record
}

/** A delivery file of one folder with its content. */
export interface ListedFile {
  name: string
  path: string
  record: DeliveryRecord
}

/** A delivery file that cannot be read, with the message id its name holds and why. */
export interface UnreadableFile {
  path: string
  messageId: string
  error: StorageError
}

/** The delivery files of one folder: those that can be read, and those that cannot. */
export interface Listing {
  files: ListedFile[]
  unreadable: UnreadableFile[]
}

/**
 * Reads the delivery files of a folder, re-reading only files that changed since the last listing (by inode,
 * size, modification and change time), so a scan of a busy inbox costs one `stat` per file, not one parse.
 * A file that cannot be read is listed apart — it must not block the agent's other deliveries — and
 * reported once until it changes.
 */
export class RecordCache {
  readonly #folders = new Map<string, Map<string, CachedFile>>()
  readonly #onDamaged: DamagedFileReporter

  constructor(onDamaged: DamagedFileReporter) {
    this.#onDamaged = onDamaged
  }

  /**
   * Every delivery file of `folder` with its record: the files whose name `idOf` reads a message id from
   * (temp files and strays are skipped). A missing folder is empty.
   */
  list(folder: string, idOf: (name: string) => string | undefined): Listing {
    let names: string[]
    try {
      names = readdirSync(folder)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return { files: [], unreadable: [] }
      throw error
    }
    const before = this.#folders.get(folder)
    const after = new Map<string, CachedFile>()
    const files: ListedFile[] = []
    const unreadable: UnreadableFile[] = []
    for (const name of names) {
      const messageId = idOf(name)
      if (messageId === undefined) continue
      const path = join(folder, name)
      // stat before read: if the file is replaced in between, the stored stamp is the old one, so the next
      // listing reads it again. A symlink loop fails here already, and is read (refused) like any bad entry.
      let stamp: string
      try {
        const stat = statSync(path, { bigint: true, throwIfNoEntry: false })
        if (stat === undefined) continue
        stamp = `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`
      } catch (error) {
        stamp = `unreachable:${errorCode(error)}`
      }
      let cached = before?.get(name)
      if (cached?.stamp !== stamp) {
        let record: DeliveryRecord | StorageError
        try {
          // Read with its type and size checked first: a directory, FIFO, socket or device file, or a file
          // larger than any valid delivery, is refused unread.
          const text = readTextIfExists(path)
          if (text === undefined) continue
          record = readRecord(path, text, messageId)
        } catch (error) {
          if (!(error instanceof StorageError)) throw error
          this.#onDamaged(path, error)
          record = error
        }
        cached = { stamp, record }
      }
      after.set(name, cached)
      if (cached.record instanceof StorageError) unreadable.push({ path, messageId, error: cached.record })
      else files.push({ name, path, record: cached.record })
    }
    this.#folders.set(folder, after)
    return { files, unreadable }
  }
}

/** A delivery that a claim could take now: a visible queued file, or a lease that ran out. */
export interface Candidate {
  path: string
  record: DeliveryRecord
  /** The lease a leased candidate's name holds; undefined for an inbox file. */
  lease: LeaseName | undefined
  /** Claims so far. */
  attempt: number
}

/** What one agent's folders hold right now. */
export interface AgentScan {
  /** Claimable deliveries, most urgent first, then oldest. */
  ready: Candidate[]
  /** Leases that ran out on their last attempt: to be dead-lettered. */
  exhausted: Candidate[]
  /** When the next pending delivery becomes claimable (ms), or null when nothing is pending. */
  nextVisibleAt: number | null
  /** Inbox files that cannot be read: to be dead-lettered. */
  unreadable: UnreadableFile[]
}

/** Where a leased delivery stands at `now`, from its name and content. */
export function leaseState(
  record: DeliveryRecord,
  lease: LeaseName,
  now: number,
): { attempt: number; visibleAt: number; exhausted: boolean } {
  const attempt = leaseAttempt(record, lease)
  const visibleAt = isSettled(record, lease) ? lease.leaseUntil : lease.leaseUntil + UNSETTLED_GRACE_MS
  return { attempt, visibleAt, exhausted: visibleAt <= now && attempt >= record.delivery.maxAttempts }
}

const sortKey = (c: Candidate): [number, number, string] => [
  priorityRank(c.record.message.priority),
  Date.parse(c.record.delivery.createdAt),
  c.record.delivery.sequence,
]

function byUrgencyThenAge(a: Candidate, b: Candidate): number {
  const [ra, ta, sa] = sortKey(a)
  const [rb, tb, sb] = sortKey(b)
  return ra - rb || ta - tb || (sa < sb ? -1 : sa > sb ? 1 : 0)
}

/** Reads `agent`'s inbox and leased folders and sorts out what is claimable, exhausted, or pending. */
export function scanAgent(layout: Layout, cache: RecordCache, agent: string, now: number): AgentScan {
  const ready: Candidate[] = []
  const exhausted: Candidate[] = []
  let nextVisibleAt: number | null = null
  const pending = (at: number): void => {
    nextVisibleAt = nextVisibleAt === null ? at : Math.min(nextVisibleAt, at)
  }

  const inbox = cache.list(layout.folder('inbox', agent), messageIdOfFile)
  for (const file of inbox.files) {
    if (isExpired(file.record.message, now)) continue
    const candidate = {
      path: file.path,
      record: file.record,
      lease: undefined,
      attempt: file.record.delivery.attempt,
    }
    const availableAt = Date.parse(file.record.delivery.availableAt)
    if (availableAt <= now) ready.push(candidate)
    else pending(availableAt)
  }

  // Only this transport writes leased files; one that cannot be read is reported and left where it is.
  const leased = cache.list(layout.folder('leased', agent), (n) => parseLeaseFileName(n)?.messageId)
  for (const file of leased.files) {
    const lease = parseLeaseFileName(file.name)!
    const state = leaseState(file.record, lease, now)
    const candidate = { path: file.path, record: file.record, lease, attempt: state.attempt }
    // A lease that ran out on its last attempt is dead-lettered even past the TTL, as the spool does.
    if (state.exhausted) exhausted.push(candidate)
    else if (isExpired(file.record.message, now)) continue
    else if (state.visibleAt <= now) ready.push(candidate)
    else if (state.attempt < file.record.delivery.maxAttempts) pending(state.visibleAt)
  }

  ready.sort(byUrgencyThenAge)
  return { ready, exhausted, nextVisibleAt, unreadable: inbox.unreadable }
}
