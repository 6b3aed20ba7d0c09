import { randomBytes, randomFillSync } from 'node:crypto'

/** Bytes drawn from the operating system's generator at a time. */
const POOL_BYTES = 4096

/**
 * Cryptographically random bytes handed out from a buffer refilled from `node:crypto` 4 KiB at a time,
 * each byte handed out once. A `randomBytes` call costs about 2 µs whatever its size; ids and lease
 * receipts, drawn on every send and claim, cost a tenth of that from here.
 */
export class RandomPool {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES)
  #offset = POOL_BYTES

  /** `size` random bytes, in a buffer of their own. */
  bytes(size: number): Buffer {
    if (size > POOL_BYTES) return randomBytes(size)
    const start = this.#take(size)
    return Buffer.from(this.#pool.subarray(start, start + size))
  }

  /** `size` random bytes as `2 * size` lowercase hex digits. */
  hex(size: number): string {
    if (size > POOL_BYTES) return randomBytes(size).toString('hex')
    const start = this.#take(size)
    return this.#pool.toString('hex', start, start + size)
  }

  #take(size: number): number {
    if (this.#offset + size > POOL_BYTES) {
      randomFillSync(this.#pool)
      this.#offset = 0
    }
    const start = this.#offset
    this.#offset += size
    return start
  }
}
