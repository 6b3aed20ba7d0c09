import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type * as Proto from '@agent-comm/protocol'
import {
  AckOptionsSchema,
  ClaimOptionsSchema,
  ClosedError,
  ExtendLeaseOptionsSchema,
  LeaseLostError,
  MessageNotFoundError,
  NackOptionsSchema,
  parseMessage,
  parseOrThrow,
  TransportSendOptionsSchema as SendOptionsSchema,
  silentLogger,
  systemClock,
  ValidationError,
  WaitOptionsSchema,
} from '@agent-comm/protocol'
import { createFolder } from '@agent-comm/protocol/create-folder'
import { toStorageError } from './atomic.js'
import { alreadyAckedError, missingDeliveryError, notLeasedError } from './delivery-errors.js'
import { DeliveryFiles, type LeasedDelivery } from './delivery-files.js'
import { agentFolder, Layout, messageFileId } from './layout.js'
import { type FileTransportOptions, FileTransportOptionsSchema } from './options.js'
import {
  type DeliveryState,
  deliveryInfo,
  type FoundDelivery,
  iso,
  isSettled,
  leaseAttempt,
} from './record.js'
import { InboxWatcher } from './wait.js'

/** How often and how many times an operation waits for another process to settle a leased file (~1 s). */
const SETTLE_POLL_MS = 2
const SETTLE_POLLS = 500

const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms))

/**
 * A transport that keeps messages as readable JSON files, for debugging: `cat` a file to see a message and
 * where its delivery stands. Each delivery is one file that moves between `inbox/`, `leased/`, `acked/` and
 * `failed/` by atomic renames, so several processes can share one root: a claim is a rename, and only one
 * process can rename a given file. Use the SQLite transport for real work.
 */
export class FileTransport implements Proto.Transport {
  readonly kind = 'file' as const
  /** Absolute path of the folder holding everything. */
  readonly root: string
  readonly #files: DeliveryFiles
  readonly #clock: Proto.Clock
  readonly #leaseSeconds: number
  readonly #maxAttempts: number
  readonly #watcher: InboxWatcher
  #closed = false

  /** Opens (creating if needed) the folders under `options.root`. Throws `ValidationError` on bad options. */
  constructor(options: FileTransportOptions) {
    const opts = parseOrThrow(FileTransportOptionsSchema, options, 'file transport options')
    this.root = resolve(opts.root)
    const logger = opts.logger ?? silentLogger
    this.#files = new DeliveryFiles(new Layout(this.root), (path, error) => {
      logger.warn(
        { path, reason: error.message },
        'a delivery file cannot be read: an inbox file is dead-lettered (moved to failed/ with the reason, status failed), a leased one left for a person to fix or remove; the other messages are delivered',
      )
    })
    this.#clock = opts.clock ?? systemClock
    this.#leaseSeconds = opts.leaseSeconds
    this.#maxAttempts = opts.maxAttempts
    try {
      // The root as the spool makes its folder (not a recursive mkdir, which spins under /proc); its
      // folders are then made inside a folder known to exist.
      createFolder(this.root)
      for (const folder of ['inbox', 'leased', 'acked', 'failed', 'messages']) {
        mkdirSync(join(this.root, folder), { recursive: true })
      }
    } catch (error) {
      throw toStorageError(error, this.root)
    }
    this.#watcher = new InboxWatcher(
      {
        inboxFolder: (agent) => this.#files.layout.folder('inbox', agent),
        hasClaimable: (agent) => this.#files.scan(agent, this.#clock.now()).ready.length > 0,
        nextVisibleAt: (agent) => this.#files.scan(agent, this.#clock.now()).nextVisibleAt,
        now: () => this.#clock.now(),
      },
      opts.wakeIntervalMs,
    )
  }

  /**
   * Stores the message in `messages/<id>.json` and one queued file per recipient in `inbox/<agent>/`. A
   * broadcast or capability target goes to `options.recipients`, a plain message to `toAgent`. Sending an
   * id that is already stored changes nothing and reports `duplicate: true`.
   */
  async send(message: Proto.MessageV2, options: Proto.TransportSendOptions = {}): Promise<Proto.SendResult> {
    this.#open()
    const parsed = parseMessage(message)
    const opts = parseOrThrow(SendOptionsSchema, options, 'send options')
    const recipients = this.#recipients(parsed, opts.recipients)
    const maxAttempts = opts.maxAttempts ?? this.#maxAttempts
    return this.#storage(() => {
      const now = this.#clock.now()
      // The message file is created exclusively first: it is the lock that makes a second send a duplicate.
      if (!this.#files.createMessage({ message: parsed, recipients, maxAttempts, createdAt: iso(now) })) {
        return { messageId: parsed.id, duplicate: true, deliveries: 0, recipients, message: parsed }
      }
      const availableAt = iso(now + Math.round((opts.delaySeconds ?? 0) * 1000))
      let deliveries = 0
      for (const recipient of recipients) {
        const fields = { recipient, maxAttempts, availableAt, createdAt: iso(now) }
        if (this.#files.createDelivery(parsed, fields)) deliveries++
        this.#watcher.notify(recipient)
      }
      return { messageId: parsed.id, duplicate: false, deliveries, recipients, message: parsed }
    })
  }

  /**
   * Leases up to `limit` claimable messages of `agent`, most urgent first, then oldest: each is renamed from
   * `inbox/` (or from a lease that ran out) to `leased/<agent>/<id>~<leaseUntil>~<receipt>.json`.
   */
  async claim(agent: string, options: Proto.TransportClaimOptions = {}): Promise<Proto.ClaimedMessage[]> {
    this.#open()
    const recipient = agentFolder(agent)
    const { limit, leaseSeconds } = parseOrThrow(ClaimOptionsSchema, options, 'claim options')
    const leaseMs = Math.round((leaseSeconds ?? this.#leaseSeconds) * 1000)
    return this.#storage(() => {
      const now = this.#clock.now()
      const claimed: Proto.ClaimedMessage[] = []
      for (const candidate of this.#files.sweep(recipient, now).ready) {
        if (claimed.length >= limit) break
        const one = this.#files.take(recipient, candidate, now, now + leaseMs)
        if (one !== undefined) claimed.push(one)
      }
      return claimed
    })
  }

  /**
   * Marks a leased delivery done by moving it to `acked/`. With the receipt from its claim, an ack from a
   * consumer whose lease ran out and was claimed again fails with `LeaseLostError`. Acking twice is a
   * harmless no-op reported as `alreadyAcked`.
   */
  async ack(messageId: string, agent: string, options: { receipt?: string } = {}): Promise<Proto.AckResult> {
    this.#open()
    const { receipt } = parseOrThrow(AckOptionsSchema, options, 'ack options')
    return this.#onLease<Proto.AckResult>(messageId, agent, receipt, {
      other: (found, id, recipient) => {
        if (found.folder === 'acked') return { messageId: id, recipient, status: 'acked', alreadyAcked: true }
        throw notLeasedError(this.#files, id, recipient, found.folder, receipt)
      },
      leased: (found, id, recipient, now) => {
        if (this.#files.ack(recipient, found, now) === undefined) return undefined
        return { messageId: id, recipient, status: 'acked', alreadyAcked: false }
      },
    })
  }

  /**
   * Gives a leased message back: to `inbox/` for a retry (visible after the delay), or to `failed/` with the
   * reason once its attempts are used up or at once with `deadLetter` (for failures a retry cannot fix).
   * With `handBack` it goes back to `inbox/` at once with its claim's attempt given back. Only a leased
   * delivery can be nacked: an acked one never comes back.
   */
  async nack(
    ...[messageId, agent, options = {}]: Parameters<Proto.Transport['nack']>
  ): Promise<Proto.NackResult> {
    this.#open()
    const { reason, receipt, delaySeconds, deadLetter, handBack } = parseOrThrow(
      NackOptionsSchema,
      options,
      'nack options',
    )
    return this.#onLease<Proto.NackResult>(messageId, agent, receipt, {
      other: (found, id, recipient) => {
        if (found.folder === 'acked') throw alreadyAckedError(id, recipient)
        throw notLeasedError(this.#files, id, recipient, found.folder, receipt)
      },
      leased: (found, id, recipient, now) => {
        const lastError = reason ?? 'nacked'
        const outOfAttempts = leaseAttempt(found.record, found.lease) >= found.record.delivery.maxAttempts
        const state =
          handBack !== true && (deadLetter === true || outOfAttempts)
            ? this.#files.fail(recipient, found, lastError, now)
            : this.#files.requeue(
                recipient,
                found,
                lastError,
                now + Math.round((delaySeconds ?? 0) * 1000),
                now,
                handBack === true,
              )
        if (state === undefined) return undefined
        if (state.status === 'queued') this.#watcher.notify(recipient)
        return nackResult(id, recipient, state)
      },
    })
  }

  /** Pushes the lease of a message being worked on out to `leaseSeconds` from now (a rename to the new end). */
  async extendLease(
    ...[messageId, agent, options = {}]: Parameters<Proto.Transport['extendLease']>
  ): Promise<Proto.ExtendLeaseResult> {
    this.#open()
    const { receipt, leaseSeconds } = parseOrThrow(ExtendLeaseOptionsSchema, options, 'lease options')
    const leaseMs = Math.round((leaseSeconds ?? this.#leaseSeconds) * 1000)
    return this.#onLease<Proto.ExtendLeaseResult>(messageId, agent, receipt, {
      other: (found, id, recipient) => {
        throw notLeasedError(this.#files, id, recipient, found.folder, receipt)
      },
      leased: (found, id, recipient, now) => {
        if (this.#files.extend(recipient, found, now + leaseMs, now) === undefined) return undefined
        return { messageId: id, recipient, leaseUntil: iso(now + leaseMs) }
      },
    })
  }

  /** The message (from `messages/<id>.json`) and the state of its delivery to every recipient. */
  async status(messageId: string): Promise<Proto.MessageStatus> {
    this.#open()
    const id = messageFileId(messageId)
    return this.#storage(async () => {
      const stored = this.#files.readMessage(id)
      if (stored === undefined) throw new MessageNotFoundError(id)
      const now = this.#clock.now()
      const deliveries = []
      for (const recipient of stored.recipients) {
        // Leases that ran out on their last attempt are dead-lettered first, so none is reported leased.
        this.#files.sweep(recipient, now)
        const found = await this.#files.locate(id, recipient)
        if (found !== undefined) deliveries.push(deliveryInfo(found, now))
      }
      return { message: stored.message, deliveries }
    })
  }

  /**
   * Resolves true as soon as `agent` has a claimable message — including one written by another process —
   * or false on timeout or abort. It watches the agent's inbox folder and sets a timer for the next delayed
   * message or running-out lease. It does not claim: call {@link claim} next.
   */
  async waitForMessages(
    agent: string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    this.#open()
    const recipient = agentFolder(agent)
    const { timeoutMs, signal } = parseOrThrow(WaitOptionsSchema, options, 'wait options')
    return this.#storage(() => this.#watcher.wait(recipient, timeoutMs, signal))
  }

  /** Stops watching folders; pending waits resolve false. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#watcher.close()
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('This file transport')
  }

  /** Runs filesystem work, turning unexpected failures into a `StorageError` that names the root. */
  async #storage<T>(work: () => T | Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      throw toStorageError(error, this.root)
    }
  }

  #recipients(message: Proto.MessageV2, requested: readonly string[] | undefined): string[] {
    if (requested !== undefined) return [...new Set(requested.map((r) => agentFolder(r)))]
    if (message.toAgent === '*' || message.toAgent.startsWith('capability:')) {
      throw new ValidationError(
        `Invalid send: '${message.toAgent}' is a group address; pass the recipients (the coordinator resolves them from the registry)`,
        [{ path: 'recipients', message: 'required for a broadcast or capability target' }],
      )
    }
    return [agentFolder(message.toAgent)]
  }

  /**
   * Finds the delivery of `messageId` to `agent` and runs `leased` on it if it is leased — once any change
   * another process is making to that file has settled — or `other` if it is not. `leased` returns
   * undefined when another process moved the file first; then the delivery is looked up again.
   */
  async #onLease<T>(
    messageId: string,
    agent: string,
    receipt: string | undefined,
    handlers: {
      other: (found: Exclude<FoundDelivery, LeasedDelivery>, id: string, recipient: string) => T
      leased: (found: LeasedDelivery, id: string, recipient: string, now: number) => T | undefined
    },
  ): Promise<T> {
    const id = messageFileId(messageId)
    const recipient = agentFolder(agent)
    return this.#storage(async () => {
      for (let polls = 0; ; polls++) {
        const found = await this.#files.locate(id, recipient)
        if (found === undefined) throw missingDeliveryError(this.#files, id, recipient)
        if (found.folder !== 'leased') return handlers.other(found, id, recipient)
        if (receipt !== undefined && receipt !== found.lease.receipt) throw new LeaseLostError(id, recipient)
        // Renaming a file another process is about to rewrite would let its rewrite bring the file back.
        if (!isSettled(found.record, found.lease) && polls < SETTLE_POLLS) {
          await pause(SETTLE_POLL_MS)
          continue
        }
        const result = handlers.leased(found, id, recipient, this.#clock.now())
        if (result !== undefined) return result
      }
    })
  }
}

function nackResult(messageId: string, recipient: string, state: DeliveryState): Proto.NackResult {
  if (state.status === 'queued') {
    const { attempt, maxAttempts, availableAt } = state
    return { messageId, recipient, status: 'queued', attempt, maxAttempts, availableAt }
  }
  return { messageId, recipient, status: 'failed', attempt: state.attempt, maxAttempts: state.maxAttempts }
}
