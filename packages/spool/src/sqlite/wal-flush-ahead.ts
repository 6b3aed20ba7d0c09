import { closeSync, fdatasync, openSync } from 'node:fs'

/** Hot-path commits of a connection between two flushes ahead of its WAL (see {@link WalFlushAhead}). */
export const WAL_FLUSH_AHEAD_COMMITS = 32

/** The least time between two flushes ahead, in ms: at most 200 a second, whatever the commit rate. */
export const WAL_FLUSH_AHEAD_INTERVAL_MS = 5

/**
 * Writes a WAL's pages to the disk ahead of its checkpoint, off the event loop. With synchronous=NORMAL a
 * commit only writes its frames into the page cache, and the checkpoint (every `WAL_AUTOCHECKPOINT_PAGES`
 * frames, in the commit that crosses it) first syncs the WAL: everything written since the last one, up to
 * 40 MiB, while that commit — and the process's event loop — waits, 25–55 ms on the development machine. The
 * whole-run cost of an idempotency key is mostly there: a keyed send writes a fifth more frames, so a fifth
 * more of those waits (coordinator README, "Request / reply and idempotency keys"). Every
 * {@link WAL_FLUSH_AHEAD_COMMITS} commits an `fdatasync` of the WAL file runs in libuv's thread pool
 * instead, so the checkpoint's own sync finds only the last few commits' pages unwritten. Only syncs are
 * added: nothing SQLite writes or syncs changes, and its checkpoint still syncs before copying pages.
 */
export class WalFlushAhead {
  readonly #walPath: string
  #fd: number | undefined
  #commits = 0
  #lastFlush = Number.NEGATIVE_INFINITY
  /** Flushes issued whose callback has not run: the descriptor is closed only once none is left. */
  #inFlight = 0
  #closed = false

  constructor(databasePath: string) {
    this.#walPath = `${databasePath}-wal`
  }

  /** Counts a commit; every {@link WAL_FLUSH_AHEAD_COMMITS} of them, starts a flush of the WAL file. */
  committed(): void {
    if (++this.#commits < WAL_FLUSH_AHEAD_COMMITS || this.#closed) return
    const now = performance.now()
    if (now - this.#lastFlush < WAL_FLUSH_AHEAD_INTERVAL_MS) return
    this.#commits = 0
    this.#lastFlush = now
    if (this.#fd === undefined) {
      try {
        this.#fd = openSync(this.#walPath, 'r')
      } catch {
        // No WAL file yet (or none this user may open): nothing to flush ahead; the checkpoint syncs as ever.
        return
      }
    }
    this.#inFlight++
    // A failed flush changes nothing: the checkpoint syncs the WAL itself and reports its own errors.
    fdatasync(this.#fd, () => {
      if (--this.#inFlight === 0 && this.#closed) this.#closeFile()
    })
  }

  /** Stops flushing; the WAL file's descriptor closes once the flushes under way are done. */
  close(): void {
    this.#closed = true
    if (this.#inFlight === 0) this.#closeFile()
  }

  #closeFile(): void {
    if (this.#fd === undefined) return
    closeSync(this.#fd)
    this.#fd = undefined
  }
}
