import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Clock, Logger } from '@agent-comm/protocol'
import {
  AgentIdSchema,
  assertRegistrableAgentId,
  errorMessage,
  jsonParseErrorPosition,
  parseOrThrow,
  StorageError,
  silentLogger,
  systemClock,
} from '@agent-comm/protocol'
import { createFolder } from '@agent-comm/protocol/create-folder'
import { z } from 'zod'
import {
  alreadyHasSecret,
  isActive,
  iso,
  newSecret,
  noSecret,
  rotationGraceMs,
  secretInfo,
} from './rotation.js'
import type { IssuedSecret, RelaySecretStore, RevokedSecrets, SecretInfo } from './types.js'

/** File name of the secret store inside a relay's data folder. */
export const SECRETS_FILE_NAME = 'secrets.json'

const FILE_MODE = 0o600
const LOCK_STALE_MS = 30_000

const SecretEntrySchema = z.object({
  secret: z.string().min(16),
  /** ms since the epoch. */
  createdAt: z.number().int(),
  /** ms since the epoch after which the secret stops working (a rotated-out secret), or null. */
  expiresAt: z.number().int().nullable(),
})

const SecretFileSchema = z.object({
  version: z.literal(1),
  agents: z.record(AgentIdSchema, z.array(SecretEntrySchema)),
})

type SecretFile = z.output<typeof SecretFileSchema>

/** Where a {@link SecretStore} keeps its file, and what it reads time from. */
export interface SecretStoreOptions {
  /** The JSON file (created with mode 0600 if missing); by convention `<relay data dir>/secrets.json`. */
  path: string
  clock?: Clock
  /** Told when the file's permissions had to be repaired or it could not be re-read. Never given secrets. */
  logger?: Logger
  /** How long a write waits for another process's lock on the file, in ms (5 000). */
  lockTimeoutMs?: number
  /**
   * How often {@link SecretStore.secretsFor} and {@link SecretStore.list} look whether the file changed on disk: on every call
   * (`'call'`, the default), or on the first call of each turn of the event loop (`'turn'`), which a server
   * authenticating many requests at once uses to pay one `stat` for all the requests it read in one turn;
   * a change written by another process is then seen from the next turn on. The store's own writes are seen
   * at once either way.
   */
  recheck?: 'call' | 'turn'
}

/**
 * The relay's per-agent HMAC secrets, in one JSON file that only its owner may read (mode 0600: created so,
 * checked and repaired on every load). Secrets are 32 random bytes from `node:crypto`. Rotation keeps the
 * previous secret valid for a grace period, so clients can switch without downtime.
 *
 * The file is shared between the relay and the CLI: every write takes a lock file, re-reads, and replaces
 * the file atomically (write, fsync, rename); {@link secretsFor} notices a changed file and re-reads it, so
 * a secret revoked from the CLI stops working on a running relay at its next request.
 */
export class SecretStore implements RelaySecretStore {
  readonly path: string
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #lockTimeoutMs: number
  #state: SecretFile = { version: 1, agents: {} }
  #fingerprint = ''
  readonly #recheckPerTurn: boolean
  /** With `recheck: 'turn'`: set once the file was checked in this turn of the event loop, cleared as it ends. */
  #checkedThisTurn = false

  private constructor(path: string, options: SecretStoreOptions) {
    this.path = path
    this.#clock = options.clock ?? systemClock
    this.#logger = options.logger ?? silentLogger
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 5_000
    this.#recheckPerTurn = options.recheck === 'turn'
  }

  /** The conventional secret file of a relay data folder. */
  static fileIn(dataDir: string): string {
    return join(resolve(dataDir), SECRETS_FILE_NAME)
  }

  /**
   * Opens the store at `options.path`, creating the file (mode 0600) and its folder (mode 0700) if missing.
   * Throws `StorageError` for a file that cannot be read or is not a secret store.
   */
  static async open(options: SecretStoreOptions): Promise<SecretStore> {
    const path = resolve(options.path)
    const store = new SecretStore(path, options)
    try {
      // Not a recursive mkdir, which spins forever under /proc (see createFolder).
      createFolder(dirname(path), { mode: 0o700 })
      try {
        const fd = openSync(path, 'wx', FILE_MODE)
        writeSync(fd, serialize({ version: 1, agents: {} }))
        fsyncSync(fd)
        closeSync(fd)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
    } catch (error) {
      throw storageError(`Cannot create the secret store ${path}`, error)
    }
    store.#load(true)
    return store
  }

  /**
   * Generates a secret for `agentId`. An agent that already has one is refused (`INVALID_STATE`) unless
   * `replace` is set, which drops its old secrets at once; to switch without downtime use {@link rotate}.
   */
  async generate(agentId: string, options: { replace?: boolean } = {}): Promise<IssuedSecret> {
    const id = parseOrThrow(AgentIdSchema, agentId, 'agent id')
    // No secret for a name no agent may be registered under (`system:expiry`, an A2A caller's `a2a:…`).
    assertRegistrableAgentId(id)
    return this.#mutate((state, now) => {
      const current = activeEntries(state.agents[id], now)
      if (current.length > 0 && options.replace !== true) throw alreadyHasSecret(id)
      const entry = { secret: newSecret(), createdAt: now, expiresAt: null }
      state.agents[id] = [entry]
      return { agentId: id, secret: entry.secret, createdAt: iso(now) }
    })
  }

  /**
   * Gives `agentId` a new secret; the ones it had keep working for `graceSeconds` (a day), then stop.
   * Throws `AGENT_NOT_FOUND` for an agent without a secret.
   */
  async rotate(agentId: string, options: { graceSeconds?: number } = {}): Promise<IssuedSecret> {
    const id = parseOrThrow(AgentIdSchema, agentId, 'agent id')
    const graceMs = rotationGraceMs(options.graceSeconds)
    return this.#mutate((state, now) => {
      const current = activeEntries(state.agents[id], now)
      if (current.length === 0) throw noSecret(id, generateHint(id))
      const until = now + graceMs
      const previous = current.map((e) => ({ ...e, expiresAt: Math.min(e.expiresAt ?? until, until) }))
      const entry = { secret: newSecret(), createdAt: now, expiresAt: null }
      state.agents[id] = [entry, ...previous.filter((e) => e.expiresAt > now)]
      return { agentId: id, secret: entry.secret, createdAt: iso(now), previousValidUntil: iso(until) }
    })
  }

  /** Removes every secret of `agentId`: its requests fail from now on. Throws `AGENT_NOT_FOUND` if it had none. */
  async revoke(agentId: string): Promise<RevokedSecrets> {
    const id = parseOrThrow(AgentIdSchema, agentId, 'agent id')
    return this.#mutate((state, now) => {
      const current = activeEntries(state.agents[id], now)
      delete state.agents[id]
      if (current.length === 0) throw noSecret(id, generateHint(id))
      return { agentId: id, revoked: current.length }
    })
  }

  /** The agents that have a working secret, by id, with creation dates; never the secrets. */
  async list(): Promise<SecretInfo[]> {
    this.#refresh()
    const now = this.#clock.now()
    return Object.entries(this.#state.agents)
      .map(([agentId, entries]) => ({ agentId, entries: activeEntries(entries, now) }))
      .filter(({ entries }) => entries.length > 0)
      .sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0))
      .map(({ agentId, entries }) => secretInfo(agentId, entries))
  }

  /**
   * The secrets that authenticate `agentId` now (none for an unknown or revoked agent; two during a
   * rotation). Cheap enough for every request: it re-reads the file only when it changed on disk.
   */
  secretsFor(agentId: string): readonly string[] {
    this.#refresh()
    const entries = Object.hasOwn(this.#state.agents, agentId) ? this.#state.agents[agentId] : undefined
    return activeEntries(entries, this.#clock.now()).map((e) => e.secret)
  }

  /** True when `agentId` has a working secret. */
  has(agentId: string): boolean {
    return this.secretsFor(agentId).length > 0
  }

  /**
   * Re-reads the file if it changed since the last read (with `recheck: 'turn'`, looked at once per turn of
   * the event loop); keeps the last good state if it became unreadable.
   */
  #refresh(): void {
    if (this.#recheckPerTurn) {
      if (this.#checkedThisTurn) return
      this.#checkedThisTurn = true
      setImmediate(() => {
        this.#checkedThisTurn = false
      }).unref()
    }
    try {
      this.#load(false)
    } catch (error) {
      this.#logger.error(
        { path: this.path, error: errorMessage(error) },
        'secret store unreadable; keeping the secrets last read',
      )
    }
  }

  #load(force: boolean): void {
    let stats: Stats
    try {
      stats = statSync(this.path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !force) {
        // A deleted store revokes everything: fail closed.
        if (this.#fingerprint !== 'missing') {
          this.#logger.warn({ path: this.path }, 'secret store file is gone; no agent can authenticate')
        }
        this.#state = { version: 1, agents: {} }
        this.#fingerprint = 'missing'
        return
      }
      throw storageError(`Cannot read the secret store ${this.path}`, error)
    }
    const fingerprint = `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.mode}`
    if (!force && fingerprint === this.#fingerprint) return
    this.#repairMode(stats)
    this.#state = this.#readFile()
    this.#fingerprint = fingerprint
  }

  #readFile(): SecretFile {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (error) {
      throw storageError(`Cannot read the secret store ${this.path}`, error)
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (error) {
      throw damagedFileError(this.path, error)
    }
    const parsed = SecretFileSchema.safeParse(json)
    if (!parsed.success) {
      throw new StorageError(`The secret store ${this.path} is not an agent-comm secret file`, {
        hint: 'Check the path; restore the file from a backup or move it aside and generate the secrets again.',
        details: { issues: parsed.error.issues.map((i) => i.path.join('.')).slice(0, 5) },
      })
    }
    return parsed.data
  }

  /** Secrets readable by others are a leak waiting to happen: put the mode back to 0600 and say so. */
  #repairMode(stats: Stats): void {
    if (process.platform === 'win32' || (stats.mode & 0o077) === 0) return
    try {
      chmodSync(this.path, FILE_MODE)
      this.#logger.warn(
        { path: this.path, mode: (stats.mode & 0o777).toString(8) },
        'secret store was readable by others; its mode was reset to 0600',
      )
    } catch (error) {
      throw storageError(
        `The secret store ${this.path} is readable by others and its mode cannot be fixed`,
        error,
      )
    }
  }

  /** Runs `change` on the freshly read file under the lock, then replaces the file atomically. */
  async #mutate<T>(change: (state: SecretFile, now: number) => T): Promise<T> {
    const release = await this.#lock()
    try {
      const state = this.#readFile()
      const now = this.#clock.now()
      const result = change(state, now)
      for (const [agentId, entries] of Object.entries(state.agents)) {
        const live = activeEntries(entries, now)
        if (live.length === 0) delete state.agents[agentId]
        else state.agents[agentId] = live
      }
      this.#writeFile(state)
      this.#load(true)
      return result
    } finally {
      release()
    }
  }

  #writeFile(state: SecretFile): void {
    const temp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      const fd = openSync(temp, 'wx', FILE_MODE)
      try {
        writeSync(fd, serialize(state))
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      // Explicitly, in case a umask or an odd filesystem widened the mode given at creation.
      chmodSync(temp, FILE_MODE)
      renameSync(temp, this.path)
    } catch (error) {
      try {
        unlinkSync(temp)
      } catch {
        // The temp file was never created or is already renamed: nothing to clean up.
      }
      throw storageError(`Cannot write the secret store ${this.path}`, error)
    }
  }

  /** An exclusive lock file beside the store; a lock older than 30 s is taken to be left by a crashed process. */
  async #lock(): Promise<() => void> {
    const lockPath = `${this.path}.lock`
    const deadline = Date.now() + this.#lockTimeoutMs
    for (;;) {
      try {
        const fd = openSync(lockPath, 'wx', FILE_MODE)
        closeSync(fd)
        return () => {
          try {
            unlinkSync(lockPath)
          } catch (error) {
            this.#logger.warn(
              { path: lockPath, error: String(error) },
              'could not remove the secret store lock',
            )
          }
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw storageError(`Cannot lock the secret store ${this.path}`, error)
        }
      }
      try {
        if (Date.now() - statSync(lockPath).mtimeMs > LOCK_STALE_MS) unlinkSync(lockPath)
      } catch {
        // The holder released it between our attempts: try again at once.
      }
      if (Date.now() > deadline) {
        throw new StorageError(`The secret store ${this.path} stayed locked by another process`, {
          hint: `If no other agent-comm process is running, remove ${lockPath}.`,
        })
      }
      await new Promise((r) => setTimeout(r, 10))
    }
  }
}

function activeEntries(
  entries: SecretFile['agents'][string] | undefined,
  now: number,
): SecretFile['agents'][string] {
  return (entries ?? []).filter((e) => isActive(e, now))
}

function serialize(state: SecretFile): string {
  return `${JSON.stringify(state, null, 2)}\n`
}

function generateHint(agentId: string): string {
  return `Generate one on the relay's machine: agent-comm relay gen-secret ${agentId}`
}

/**
 * A secret store that is not valid JSON. The parser's own message quotes the text around the damage —
 * part of a stored secret — so only the position it names is kept, never the message or the error itself.
 */
function damagedFileError(path: string, cause: unknown): StorageError {
  const position = jsonParseErrorPosition(cause)
  const where = position ? ` (near line ${position.line}, column ${position.column})` : ''
  return new StorageError(`The secret store ${path} is damaged: it is not valid JSON${where}`, {
    hint: 'Restore the file from a backup, or move it aside and issue the secrets again (agent-comm relay gen-secret <agent>); agents then need their new secret.',
    details: position ? { line: position.line, column: position.column } : {},
  })
}

function storageError(message: string, cause: unknown): StorageError {
  const reason = errorMessage(cause)
  return new StorageError(`${message}: ${reason}`, {
    hint: 'Check that the folder exists and that this user may read and write the file.',
    cause,
  })
}
