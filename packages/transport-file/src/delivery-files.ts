import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { ClaimedMessage, MessageV2 } from '@agent-comm/protocol'
import { StorageError } from '@agent-comm/protocol'
import { createFileExclusive, errorCode, tryRename, writeFileAtomic } from './atomic.js'
import { type Layout, type LeaseName, parseLeaseFileName } from './layout.js'
import { readTextIfExists } from './read-file.js'
import {
  type DeliveryRecord,
  type DeliveryState,
  type FoundDelivery,
  iso,
  leaseAttempt,
  type MessageRecord,
  nextSequence,
  parseDeliveryRecord,
  parseMessageRecord,
  serialize,
} from './record.js'
import {
  type AgentScan,
  type Candidate,
  type DamagedFileReporter,
  leaseState,
  RecordCache,
  scanAgent,
  type UnreadableFile,
} from './scan.js'

/** A delivery found in `leased/`. */
export type LeasedDelivery = Extract<FoundDelivery, { folder: 'leased' }>

/** Passes over an agent's folders looking for one delivery: a file moving between folders can be missed once. */
const LOCATE_PASSES = 5
const LOCATE_PAUSE_MS = 2
/** How long a nack holds the delivery under a private lease while it rewrites it (only matters after a crash). */
const NACK_HOLD_MS = 30_000

/** Why a rename onto an unreadable entry kept in `failed/` fails: it is a directory, or this one is and it is not. */
const ASIDE_TAKEN_CODES = new Set(['EISDIR', 'ENOTDIR', 'ENOTEMPTY', 'EEXIST'])

const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms))

/** A fresh claim receipt: 24 hex digits from `node:crypto`. */
export const newReceipt = (): string => randomBytes(12).toString('hex')

/**
 * The delivery files under one root and every state change of them. Each change is a rename, which only
 * one process can win, followed by a rewrite of the file it now owns:
 *
 * - send: `messages/<id>.json`, then `inbox/<agent>/<id>.json`, each created whole or not at all
 * - claim: `inbox/…/<id>.json` or a run-out lease → `leased/<agent>/<id>~<leaseUntil>~<receipt>.json`
 * - extend: → the same name with the new end; ack → `acked/`; dead-letter → `failed/`
 * - nack: → a private lease (fresh receipt), rewritten as queued, then → `inbox/`
 *
 * A delivery is one file at every moment, so it is never handed out twice and never lost.
 */
export class DeliveryFiles {
  readonly layout: Layout
  readonly #cache: RecordCache

  /** `onDamaged` is told about each delivery file a scan leaves out because it cannot be read. */
  constructor(layout: Layout, onDamaged: DamagedFileReporter) {
    this.layout = layout
    this.#cache = new RecordCache(onDamaged)
  }

  /** What `agent`'s folders hold at `now`: claimable, exhausted and pending deliveries. */
  scan(agent: string, now: number): AgentScan {
    return scanAgent(this.layout, this.#cache, agent, now)
  }

  /** Creates `messages/<id>.json`, or returns false when the id is taken (a duplicate send). */
  createMessage(stored: MessageRecord): boolean {
    return createFileExclusive(this.layout.messageFile(stored.message.id), serialize(stored))
  }

  /** Creates the queued file of one recipient; false if it exists already. */
  createDelivery(
    message: MessageV2,
    fields: Pick<DeliveryState, 'recipient' | 'maxAttempts' | 'availableAt' | 'createdAt'>,
  ): boolean {
    const delivery: DeliveryState = {
      recipient: fields.recipient,
      status: 'queued',
      attempt: 0,
      maxAttempts: fields.maxAttempts,
      availableAt: fields.availableAt,
      leaseUntil: null,
      receipt: null,
      lastError: null,
      createdAt: fields.createdAt,
      updatedAt: fields.createdAt,
      ackedAt: null,
      sequence: nextSequence(),
    }
    const path = this.layout.deliveryFile('inbox', fields.recipient, message.id)
    return createFileExclusive(path, serialize({ delivery, message }))
  }

  /**
   * Claims one candidate: renames it to a fresh lease (the step only one process can win), reads what it
   * actually took — another process may have changed it since the scan — and writes the leased state.
   */
  take(agent: string, candidate: Candidate, now: number, leaseUntil: number): ClaimedMessage | undefined {
    const receipt = newReceipt()
    const path = this.layout.leaseFile(agent, { messageId: candidate.record.message.id, leaseUntil, receipt })
    if (!tryRename(candidate.path, path)) return undefined
    const record = this.#readOwned(path)
    const { maxAttempts } = record.delivery
    let attempt: number
    if (candidate.lease === undefined) {
      if (Date.parse(record.delivery.availableAt) > now) {
        // Nacked with a delay by another process between our scan and our rename: put it back.
        tryRename(path, candidate.path)
        return undefined
      }
      attempt = record.delivery.attempt
    } else {
      attempt = leaseState(record, candidate.lease, now).attempt
      if (attempt >= maxAttempts) {
        this.failExhausted(agent, { ...candidate, path, record }, now)
        return undefined
      }
    }
    this.#rewrite(path, record, {
      status: 'leased',
      attempt: attempt + 1,
      availableAt: iso(leaseUntil),
      leaseUntil: iso(leaseUntil),
      receipt,
      lastError:
        candidate.lease === undefined
          ? record.delivery.lastError
          : `lease expired without an ack on attempt ${attempt}`,
      updatedAt: iso(now),
    })
    return {
      message: record.message,
      lease: { recipient: agent, attempt: attempt + 1, maxAttempts, leaseUntil: iso(leaseUntil), receipt },
    }
  }

  /** Dead-letters a lease that ran out on its last attempt, so nothing stays leased forever. */
  failExhausted(agent: string, candidate: Candidate, now: number): void {
    const path = this.layout.deliveryFile('failed', agent, candidate.record.message.id)
    if (!tryRename(candidate.path, path)) return
    const record = this.#readOwned(path)
    const attempt = candidate.lease === undefined ? candidate.attempt : leaseAttempt(record, candidate.lease)
    this.#rewrite(path, record, {
      status: 'failed',
      attempt,
      leaseUntil: null,
      lastError: `lease expired without an ack on the last attempt (${attempt} of ${record.delivery.maxAttempts})`,
      updatedAt: iso(now),
    })
  }

  /**
   * Dead-letters an inbox file that cannot be read, as a nack to `failed/` would: the file is moved aside
   * to `failed/<agent>/<id>.unreadable` (kept for a person to inspect, whatever its type; never read as a
   * delivery; `<id>.<random>.unreadable` when an entry kept before under that name cannot be replaced) and, from
   * the message as sent (`messages/<id>.json`), `failed/<agent>/<id>.json` is written with the reason as its
   * last error, so the sender's status reads `failed` instead of `queued` forever. Returns false when
   * another process moved the file first.
   */
  failUnreadable(agent: string, file: UnreadableFile, now: number): boolean {
    const failed = this.layout.folder('failed', agent)
    let aside = join(failed, `${file.messageId}.unreadable`)
    try {
      if (!tryRename(file.path, aside)) return false
    } catch (error) {
      // An entry kept there before that a rename cannot replace (a directory, or a file where this is a
      // directory): keep both, under a name of its own, rather than fail the claim of every other message.
      if (!ASIDE_TAKEN_CODES.has(errorCode(error) as string)) throw error
      aside = join(failed, `${file.messageId}.${randomBytes(6).toString('hex')}.unreadable`)
      if (!tryRename(file.path, aside)) return false
    }
    let stored: MessageRecord | undefined
    try {
      stored = this.readMessage(file.messageId)
    } catch (error) {
      // The message file is damaged too: only the file moved aside is left to show what happened.
      if (!(error instanceof StorageError)) throw error
    }
    if (stored === undefined) return true
    const delivery: DeliveryState = {
      recipient: agent,
      status: 'failed',
      attempt: 0,
      maxAttempts: stored.maxAttempts,
      availableAt: iso(now),
      leaseUntil: null,
      receipt: null,
      lastError: `${file.error.message} (the file is kept as ${aside})`,
      createdAt: stored.createdAt,
      updatedAt: iso(now),
      ackedAt: null,
      sequence: nextSequence(),
    }
    createFileExclusive(
      this.layout.deliveryFile('failed', agent, file.messageId),
      serialize({ delivery, message: stored.message }),
    )
    return true
  }

  /** Dead-letters every exhausted lease and every unreadable inbox file of `agent`; returns the scan it made first. */
  sweep(agent: string, now: number): AgentScan {
    const scan = this.scan(agent, now)
    for (const candidate of scan.exhausted) this.failExhausted(agent, candidate, now)
    for (const file of scan.unreadable) this.failUnreadable(agent, file, now)
    return scan
  }

  /** Moves a leased delivery to `acked/`; undefined if another process moved it first. */
  ack(agent: string, found: LeasedDelivery, now: number): DeliveryState | undefined {
    return this.#finish(found, this.layout.deliveryFile('acked', agent, found.lease.messageId), (record) => ({
      status: 'acked',
      attempt: leaseAttempt(record, found.lease),
      leaseUntil: null,
      ackedAt: iso(now),
      updatedAt: iso(now),
    }))
  }

  /** Moves a leased delivery to `failed/` with `lastError`; undefined if another process moved it first. */
  fail(agent: string, found: LeasedDelivery, lastError: string, now: number): DeliveryState | undefined {
    return this.#finish(
      found,
      this.layout.deliveryFile('failed', agent, found.lease.messageId),
      (record) => ({
        status: 'failed',
        attempt: leaseAttempt(record, found.lease),
        leaseUntil: null,
        lastError,
        updatedAt: iso(now),
      }),
    )
  }

  /**
   * Puts a leased delivery back in the inbox, visible at `availableAt`; undefined if another process moved
   * it first. It goes through a private lease (a fresh receipt nobody else knows) and is rewritten there,
   * so a claimer never sees it in the inbox before its new content is in place. A hand-back (the consumer
   * never began on it) gives the claim's attempt back and keeps the last error as it was.
   */
  requeue(
    agent: string,
    found: LeasedDelivery,
    lastError: string,
    availableAt: number,
    now: number,
    handBack = false,
  ): DeliveryState | undefined {
    const hold: LeaseName = {
      messageId: found.lease.messageId,
      leaseUntil: Math.max(found.lease.leaseUntil, now + NACK_HOLD_MS),
      receipt: newReceipt(),
    }
    const held = this.layout.leaseFile(agent, hold)
    const state = this.#finish(found, held, (record) => ({
      status: 'queued',
      attempt: handBack
        ? Math.max(leaseAttempt(record, found.lease) - 1, 0)
        : leaseAttempt(record, found.lease),
      availableAt: iso(availableAt),
      leaseUntil: null,
      receipt: null,
      lastError: handBack ? record.delivery.lastError : lastError,
      updatedAt: iso(now),
    }))
    if (state !== undefined) tryRename(held, this.layout.deliveryFile('inbox', agent, found.lease.messageId))
    return state
  }

  /** Moves a lease to a new end; undefined if another process moved it first. */
  extend(agent: string, found: LeasedDelivery, leaseUntil: number, now: number): DeliveryState | undefined {
    const lease = { ...found.lease, leaseUntil }
    const path = this.layout.leaseFile(agent, lease)
    if (path === found.path) return found.record.delivery
    return this.#finish(found, path, (record) => ({
      status: 'leased',
      attempt: leaseAttempt(record, found.lease),
      leaseUntil: iso(leaseUntil),
      availableAt: iso(leaseUntil),
      receipt: lease.receipt,
      updatedAt: iso(now),
    }))
  }

  /**
   * The one file of a delivery, wherever it is. Files move by rename, so one is always somewhere, but a pass
   * over several folders can miss one that moves between them mid-pass: look again a few times.
   */
  async locate(messageId: string, agent: string): Promise<FoundDelivery | undefined> {
    for (let pass = 0; pass < LOCATE_PASSES; pass++) {
      if (pass > 0) await pause(LOCATE_PAUSE_MS)
      const found = this.#locateOnce(messageId, agent)
      if (found !== undefined) return found
    }
    return undefined
  }

  /** The stored message and its recipients, or undefined for an unknown id. */
  readMessage(messageId: string): MessageRecord | undefined {
    const path = this.layout.messageFile(messageId)
    const text = readTextIfExists(path)
    return text === undefined ? undefined : parseMessageRecord(text, path)
  }

  #locateOnce(messageId: string, agent: string): FoundDelivery | undefined {
    let names: string[] = []
    try {
      names = readdirSync(this.layout.folder('leased', agent))
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error
    }
    for (const name of names) {
      const lease = parseLeaseFileName(name)
      if (lease?.messageId !== messageId) continue
      const path = this.layout.leaseFile(agent, lease)
      const record = this.#readIfExists(path)
      if (record !== undefined) return { folder: 'leased', path, lease, record }
    }
    for (const folder of ['acked', 'failed', 'inbox'] as const) {
      const path = this.layout.deliveryFile(folder, agent, messageId)
      const record = this.#readIfExists(path)
      if (record !== undefined) return { folder, path, record }
    }
    return undefined
  }

  /** Renames a leased file to `to` and rewrites it there with `changes(content)`. */
  #finish(
    found: LeasedDelivery,
    to: string,
    changes: (record: DeliveryRecord) => Partial<DeliveryState>,
  ): DeliveryState | undefined {
    if (!tryRename(found.path, to)) return undefined
    const record = this.#readOwned(to)
    return this.#rewrite(to, record, changes(record))
  }

  /** Rewrites a file this process just renamed into place (temp file, then rename over it). */
  #rewrite(path: string, record: DeliveryRecord, changes: Partial<DeliveryState>): DeliveryState {
    const delivery = { ...record.delivery, ...changes }
    writeFileAtomic(path, serialize({ delivery, message: record.message }))
    return delivery
  }

  #readIfExists(path: string): DeliveryRecord | undefined {
    const text = readTextIfExists(path)
    return text === undefined ? undefined : parseDeliveryRecord(text, path)
  }

  /** Reads a file this process just renamed into place: nobody else moves it before we rewrite it. */
  #readOwned(path: string): DeliveryRecord {
    const record = this.#readIfExists(path)
    if (record === undefined)
      throw new Error(`Delivery file ${path} vanished right after it was renamed into place`)
    return record
  }
}
