import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/** Bytes drawn from the operating system's generator at a time. */
const POOL_BYTES = 4096

/** `node:crypto`, loaded only where it is needed: loading it costs about 20 M instructions (a third of a short CLI run's own work). */
const nodeCrypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto')

/**
 * Whether the next fill reads `/dev/urandom`: only the process's first (a short run's only one), and not
 * where there is none (Windows). A process that needs more is a long-running one, for which loading
 * `node:crypto` once is cheaper than opening the device on every refill.
 */
let readUrandom = process.platform !== 'win32'

/**
 * Fills `buffer` with cryptographically secure random bytes from the operating system: read from
 * `/dev/urandom` (the kernel's generator, never blocking once the system has booted; the source Node's own
 * generator is seeded from) for the process's first fill where there is one, else from `node:crypto`.
 * Reading the device spares a process that needs a few random bytes (a CLI `send`: its ids) loading
 * `node:crypto`.
 */
export function fillSystemRandom(buffer: Buffer): void {
  if (readUrandom) {
    readUrandom = false
    let fd: number | undefined
    try {
      fd = openSync('/dev/urandom', 'r')
      // The kernel's device, not a file put in its place (a container's odd /dev): else node:crypto.
      if (!fstatSync(fd).isCharacterDevice()) throw new Error('/dev/urandom is not a device')
      for (let filled = 0; filled < buffer.length; ) {
        const read = readSync(fd, buffer, filled, buffer.length - filled, null)
        if (read === 0) throw new Error('/dev/urandom ended')
        filled += read
      }
      return
    } catch {
      // No readable /dev/urandom here (a sandbox, a chroot without /dev): node:crypto below.
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  }
  nodeCrypto().randomFillSync(buffer)
}

/**
 * Cryptographically random bytes handed out from a buffer refilled from the operating system's generator
 * ({@link fillSystemRandom}) 4 KiB at a time, each byte handed out once. A `randomBytes` call costs about
 * 2 µs whatever its size; ids and lease receipts, drawn on every send and claim, cost a tenth of that from
 * here.
 */
export class RandomPool {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES)
  readonly #fill: (buffer: Buffer) => void
  #offset = POOL_BYTES

  /** `fill` fills a buffer with secure random bytes (default {@link fillSystemRandom}; tests pass their own). */
  constructor(fill: (buffer: Buffer) => void = fillSystemRandom) {
    this.#fill = fill
  }

  /** `size` random bytes, in a buffer of their own. */
  bytes(size: number): Buffer {
    if (size > POOL_BYTES) return this.#large(size)
    const start = this.#take(size)
    return Buffer.from(this.#pool.subarray(start, start + size))
  }

  /** `size` random bytes as `2 * size` lowercase hex digits. */
  hex(size: number): string {
    if (size > POOL_BYTES) return this.#large(size).toString('hex')
    const start = this.#take(size)
    return this.#pool.toString('hex', start, start + size)
  }

  #large(size: number): Buffer {
    const buffer = Buffer.allocUnsafe(size)
    this.#fill(buffer)
    return buffer
  }

  #take(size: number): number {
    if (this.#offset + size > POOL_BYTES) {
      this.#fill(this.#pool)
      this.#offset = 0
    }
    const start = this.#offset
    this.#offset += size
    return start
  }
}
