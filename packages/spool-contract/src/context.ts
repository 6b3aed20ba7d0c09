import { ManualClock } from '@agent-comm/protocol'
import type { Spool, SpoolOptions } from '@agent-comm/spool'

/**
 * The spool API the contract exercises: the public methods of `Spool`, and nothing a store adds beside them
 * (`sqlite`, `db`, `path`). Picked rather than the class itself, so a spool built from the package's source
 * (as the spool's own tests do) and one built from its `dist` are both accepted.
 */
export type ContractSpool = Pick<
  Spool,
  | 'send'
  | 'sendBatch'
  | 'hold'
  | 'releaseHeld'
  | 'claim'
  | 'claimReply'
  | 'claimMessage'
  | 'waitForReply'
  | 'ack'
  | 'ackBatch'
  | 'ackAndClaim'
  | 'nack'
  | 'extendLease'
  | 'waitForMessages'
  | 'waitForChange'
  | 'status'
  | 'conversation'
  | 'conversations'
  | 'search'
  | 'stats'
  | 'pending'
  | 'listFailed'
  | 'retryFailed'
  | 'withdraw'
  | 'verify'
  | 'cleanup'
  | 'close'
>

/**
 * The options a case opens a spool with: the store-neutral part of `SpoolOptions`. `clock` is always a
 * `ManualClock` the case moves; the rest is set only by the cases about it (store defaults otherwise).
 */
export type SpoolContractOptions = Pick<
  SpoolOptions,
  | 'clock'
  | 'ids'
  | 'leaseSeconds'
  | 'maxAttempts'
  | 'retryDelaySeconds'
  | 'maxBodyBytes'
  | 'logger'
  | 'wakeIntervalMs'
  | 'idempotencyWindowMs'
>

/** A fresh, empty spool a store opened for one case, and a way to open more spools on the same storage. */
export interface OpenedSpool {
  spool: ContractSpool
  /**
   * Opens another spool on the same storage as `spool` (the same file, the same database schema), as a second
   * process would: what one sends the other claims. The suite closes it after the case.
   */
  openAnother(options: SpoolContractOptions): Promise<ContractSpool>
  /** Removes what `open` created (a temporary folder, a schema); runs after the case closed every spool. */
  dispose?(): Promise<void>
}

/** Sizes of the concurrent-claimers case, for a store that needs them smaller or larger. */
export interface ConcurrencyOptions {
  /** Spools on the same storage that claim at once (default 2). */
  instances?: number
  /** Claims each spool starts at once (default 10). */
  claimsPerInstance?: number
  /** Messages waiting when the claims start (default 200). */
  messages?: number
}

/** How a store under test gives the contract its spools. */
export interface SpoolFactory {
  /**
   * Opens a fresh, empty spool on the store with `options`. Called once per case (more often for cases that
   * open a second spool with other options through `openAnother`).
   */
  open(options: SpoolContractOptions): Promise<OpenedSpool>
  /** Runs once after every case of the suite (drop a test database, remove a folder). */
  cleanup?(): Promise<void>
  /** Sizes of the concurrent-claimers case (defaults: 2 spools × 10 claims over 200 messages). */
  concurrency?: ConcurrencyOptions
}

/** The start of every case's clock: a fixed instant, so times in assertions are the same on every run. */
const START = Date.UTC(2026, 1, 3, 14, 30)

/** One spool of a case, with the clock it reads. */
export interface CaseSpool {
  spool: ContractSpool
  clock: ManualClock
  /** Opens another spool on the same storage, on the same clock unless `options.clock` says otherwise. */
  openAnother(options?: Partial<SpoolContractOptions>): Promise<ContractSpool>
}

/**
 * What the cases use: opens spools through the factory with a fresh `ManualClock`, and closes all of them
 * (and disposes of their storage) after the case, whatever the case did.
 */
export class SpoolContractContext {
  readonly #factory: SpoolFactory
  #spools: ContractSpool[] = []
  #disposals: (() => Promise<void>)[] = []

  constructor(factory: SpoolFactory) {
    this.#factory = factory
  }

  /** The factory's sizes for the concurrent-claimers case, defaults filled in. */
  get concurrency(): Required<ConcurrencyOptions> {
    return { instances: 2, claimsPerInstance: 10, messages: 200, ...this.#factory.concurrency }
  }

  /** A fresh, empty spool on the store under test, with a `ManualClock` unless `options.clock` is given. */
  async open(options: Partial<SpoolContractOptions> = {}): Promise<CaseSpool> {
    const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(START)
    const opened = await this.#factory.open({ ...options, clock })
    this.#spools.push(opened.spool)
    if (opened.dispose !== undefined) this.#disposals.push(() => opened.dispose!())
    return {
      spool: opened.spool,
      clock,
      openAnother: async (more = {}) => {
        const another = await opened.openAnother({ ...more, clock: more.clock ?? clock })
        this.#spools.push(another)
        return another
      },
    }
  }

  /** Closes every spool the case opened (closing twice is allowed), then disposes of their storage. */
  async release(): Promise<void> {
    const spools = this.#spools.splice(0).reverse()
    const disposals = this.#disposals.splice(0).reverse()
    for (const spool of spools) await spool.close()
    for (const dispose of disposals) await dispose()
  }

  /** Runs the factory's suite-wide cleanup. */
  async cleanup(): Promise<void> {
    await this.#factory.cleanup?.()
  }
}

/** A plain task from architect to builder, with `extra` fields. */
export function task(body = 'Implement auth', extra: Record<string, unknown> = {}) {
  return { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body, ...extra }
}

/**
 * Sends a task that `builder` claims twice: first with a 5 s lease that runs out (the clock moves 6 s), then
 * again. The receipts of both claims: `stale`, refused from then on, and `current`, that holds the delivery.
 */
export async function claimedTwice(
  spool: ContractSpool,
  clock: ManualClock,
): Promise<{ messageId: string; stale: string; current: string }> {
  const { messageId } = await spool.send(task())
  const [slow] = await spool.claim('builder', { leaseSeconds: 5 })
  clock.advance(6_000)
  const [fast] = await spool.claim('builder', { leaseSeconds: 5 })
  return { messageId, stale: slow!.lease.receipt, current: fast!.lease.receipt }
}
