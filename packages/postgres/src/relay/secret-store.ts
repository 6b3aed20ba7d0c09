import {
  AgentIdSchema,
  assertRegistrableAgentId,
  type Clock,
  ConfigError,
  type Logger,
  parseOrThrow,
  silentLogger,
  systemClock,
} from '@agent-comm/protocol'
import {
  alreadyHasSecret,
  type IssuedSecret,
  isActive,
  newSecret,
  noSecret,
  type RelaySecretStore,
  type RevokedSecrets,
  rotationGraceMs,
  type SecretInfo,
  secretInfo,
} from '@agent-comm/secrets'
import type { SqlClient, SqlQueryable } from '../client.js'
import { toStorageError, withStorageErrors } from '../drivers/driver-errors.js'
import type { RelaySecretsKey } from './secrets-key.js'

/** How long a replica trusts what it read about an agent's secrets when no notification came: a floor. */
const CACHE_MS = 30_000
/** How long "this agent has no secret" is remembered: a stranger's flood costs one query a second per id. */
const MISSING_CACHE_MS = 1_000

/** A secret just generated: the only time it is handed out (`IssuedSecret` of `@agent-comm/secrets`). */
export type PostgresIssuedSecret = IssuedSecret

/** What `list` says about an agent's secrets, never the secrets (`SecretInfo` of `@agent-comm/secrets`). */
export type PostgresSecretInfo = SecretInfo

/** Options of {@link PostgresSecretStore.open}. */
export interface PostgresSecretStoreOptions {
  client: SqlClient
  schema: string
  /** The URL without its password. */
  location: string
  /** The key the secrets are sealed under; checked against the key check row on open. */
  key: RelaySecretsKey
  clock?: Clock
  logger?: Logger
}

interface Entry {
  secret: string
  expiresAt: number | null
}

/**
 * Agents' relay secrets in PostgreSQL, shared by a relay's replicas and the CLI, sealed with AES-256-GCM
 * under a {@link RelaySecretsKey} that never enters the database. The same operations and rotation rules as
 * the relay's file store (`RelaySecretStore` of `@agent-comm/secrets`). Lookups are cached per replica; every change sends a notification in its
 * transaction, so a revocation reaches every replica on commit (with a 30 s floor if notifications are lost).
 */
export class PostgresSecretStore implements RelaySecretStore {
  /** Where the secrets are: the URL without its password. */
  readonly location: string
  readonly #client: SqlClient
  readonly #key: RelaySecretsKey
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #schema: string
  readonly #channel: string
  readonly #cache = new Map<string, { entries: Entry[]; until: number }>()
  #unlisten: (() => Promise<void>) | undefined

  private constructor(options: PostgresSecretStoreOptions) {
    this.location = options.location
    this.#client = options.client
    this.#key = options.key
    this.#clock = options.clock ?? systemClock
    this.#logger = options.logger ?? silentLogger
    this.#schema = options.schema
    this.#channel = `acs_${options.schema}`
  }

  /**
   * Opens the store: records the key check on a database that has none, refuses (`ConfigError`) a key that
   * cannot open it, and listens for changes made by other processes.
   */
  static async open(options: PostgresSecretStoreOptions): Promise<PostgresSecretStore> {
    const store = new PostgresSecretStore(options)
    await store.#checkKey()
    try {
      store.#unlisten = await options.client.listen(
        store.#channel,
        (agentId) => store.#forget(agentId),
        () => store.#cache.clear(),
      )
    } catch (error) {
      throw toStorageError(error, options.location, 'LISTEN')
    }
    return store
  }

  /** Generates a secret for `agentId`; one that has a secret is refused unless `replace`. */
  async generate(agentId: string, options: { replace?: boolean } = {}): Promise<PostgresIssuedSecret> {
    const id = parseOrThrow(AgentIdSchema, agentId, 'agent id')
    // No secret for a name no agent may be registered under (`system:expiry`, an A2A caller's `a2a:…`).
    assertRegistrableAgentId(id)
    return this.#change(id, async (tx, now) => {
      const active = await this.#activeCount(tx, id, now)
      if (active > 0 && options.replace !== true) throw alreadyHasSecret(id)
      await tx.query(`DELETE FROM ${this.#table} WHERE agent_id = $1`, [id])
      const secret = newSecret()
      await this.#insert(tx, id, secret, now)
      return { agentId: id, secret, createdAt: iso(now) }
    })
  }

  /** A new secret for `agentId`; the ones it had keep working for `graceSeconds` (a day). */
  async rotate(agentId: string, options: { graceSeconds?: number } = {}): Promise<PostgresIssuedSecret> {
    const id = parseOrThrow(AgentIdSchema, agentId, 'agent id')
    const graceMs = rotationGraceMs(options.graceSeconds)
    return this.#change(id, async (tx, now) => {
      if ((await this.#activeCount(tx, id, now)) === 0) throw noSecret(id, generateHint(id))
      const until = now + graceMs
      await tx.query(
        `UPDATE ${this.#table} SET expires_at = least(coalesce(expires_at, $2), $2) WHERE agent_id = $1`,
        [id, until],
      )
      await tx.query(`DELETE FROM ${this.#table} WHERE agent_id = $1 AND expires_at <= $2`, [id, now])
      const secret = newSecret()
      await this.#insert(tx, id, secret, now)
      return { agentId: id, secret, createdAt: iso(now), previousValidUntil: iso(until) }
    })
  }

  /** Removes every secret of `agentId`; `AGENT_NOT_FOUND` if it had none. */
  async revoke(agentId: string): Promise<RevokedSecrets> {
    const id = parseOrThrow(AgentIdSchema, agentId, 'agent id')
    return this.#change(id, async (tx, now) => {
      const active = await this.#activeCount(tx, id, now)
      await tx.query(`DELETE FROM ${this.#table} WHERE agent_id = $1`, [id])
      if (active === 0) throw noSecret(id, generateHint(id))
      return { agentId: id, revoked: active }
    })
  }

  /** The agents with a working secret, by id, with dates; never the secrets. */
  async list(): Promise<PostgresSecretInfo[]> {
    const now = this.#clock.now()
    const rows = await this.#read((db) =>
      db.query<{ agentId: string; createdAt: number; expiresAt: number | null }>(
        `SELECT agent_id AS "agentId", created_at AS "createdAt", expires_at AS "expiresAt" FROM ${this.#table}
         WHERE expires_at IS NULL OR expires_at > $1 ORDER BY agent_id`,
        [now],
      ),
    )
    const byAgent = new Map<string, { createdAt: number; expiresAt: number | null }[]>()
    for (const row of rows) {
      const list = byAgent.get(row.agentId) ?? []
      list.push({
        createdAt: Number(row.createdAt),
        expiresAt: row.expiresAt === null ? null : Number(row.expiresAt),
      })
      byAgent.set(row.agentId, list)
    }
    return [...byAgent].map(([agentId, entries]) => secretInfo(agentId, entries))
  }

  /** The secrets that authenticate `agentId` now (none for an unknown or revoked agent; two in a rotation). */
  async secretsFor(agentId: string): Promise<readonly string[]> {
    // No secret is stored under an invalid id, and one holding NUL could not even be looked up in PostgreSQL.
    if (!AgentIdSchema.safeParse(agentId).success) return []
    const now = this.#clock.now()
    let cached = this.#cache.get(agentId)
    if (cached === undefined || cached.until <= now || now < cached.until - CACHE_MS) {
      const rows = await this.#read((db) =>
        db.query<{ sealed: string; expiresAt: number | null }>(
          `SELECT sealed, expires_at AS "expiresAt" FROM ${this.#table} WHERE agent_id = $1`,
          [agentId],
        ),
      )
      const entries: Entry[] = []
      for (const row of rows) {
        const secret = this.#key.open(row.sealed)
        if (secret === undefined) {
          this.#logger.error({ agentId }, 'a relay secret does not open with this key; it is ignored')
          continue
        }
        entries.push({ secret, expiresAt: row.expiresAt === null ? null : Number(row.expiresAt) })
      }
      cached = { entries, until: now + (entries.length === 0 ? MISSING_CACHE_MS : CACHE_MS) }
      this.#cache.set(agentId, cached)
    }
    return cached.entries.filter((e) => isActive(e, now)).map((e) => e.secret)
  }

  /** True when `agentId` has a working secret. */
  async has(agentId: string): Promise<boolean> {
    return (await this.secretsFor(agentId)).length > 0
  }

  /**
   * Re-encrypts every secret (and the A2A push-signing keys) under `next` and replaces the key check, in
   * one transaction: replicas still
   * holding the old key refuse to start from then on, so restart each with the new key. Returns how many
   * secrets were re-encrypted. This store keeps the old key: close it afterwards.
   */
  async rotateKey(next: RelaySecretsKey): Promise<{ reencrypted: number; keyId: string }> {
    const result = await this.#transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM ${this.#keyTable} WHERE id = 1 FOR UPDATE`)
      const rows = await tx.query<{ id: number; sealed: string }>(
        `SELECT id, sealed FROM ${this.#table} ORDER BY id`,
      )
      for (const row of rows) {
        const plain = this.#key.open(row.sealed)
        if (plain === undefined) {
          throw new ConfigError(
            `Secret ${row.id} does not open with the current key; nothing was re-encrypted`,
            {
              hint: 'Restore the secret from a backup or revoke its agent, then rotate the key again.',
            },
          )
        }
        await tx.query(`UPDATE ${this.#table} SET sealed = $2 WHERE id = $1`, [row.id, next.seal(plain)])
      }
      // The A2A push-signing keys are sealed under the same key: re-sealed with the secrets, or a replica
      // restarted with the new key could not sign (the table is in every schema since migration 0006).
      const signingKeys = await tx.query<{ kid: string; sealed: string }>(
        `SELECT kid, sealed_private_jwk AS sealed FROM "${this.#schema}".a2a_signing_keys ORDER BY kid`,
      )
      for (const row of signingKeys) {
        const plain = this.#key.open(row.sealed)
        if (plain === undefined) {
          throw new ConfigError(
            `The A2A push-signing key ${row.kid} does not open with the current key; nothing was re-encrypted`,
            { hint: 'Delete that row of a2a_signing_keys (the relay makes a new key), then rotate again.' },
          )
        }
        await tx.query(
          `UPDATE "${this.#schema}".a2a_signing_keys SET sealed_private_jwk = $2 WHERE kid = $1`,
          [row.kid, next.seal(plain)],
        )
      }
      await tx.query(`UPDATE ${this.#keyTable} SET key_id = $1, "check" = $2 WHERE id = 1`, [
        next.id,
        next.check(),
      ])
      await tx.query('SELECT pg_notify($1, $2)', [this.#channel, ''])
      return { reencrypted: rows.length, keyId: next.id }
    })
    this.#cache.clear()
    return result
  }

  /** Stops listening; the client stays open for its owner. */
  async close(): Promise<void> {
    const unlisten = this.#unlisten
    this.#unlisten = undefined
    await unlisten?.()
  }

  get #table(): string {
    return `"${this.#schema}".relay_secrets`
  }

  get #keyTable(): string {
    return `"${this.#schema}".relay_secrets_key`
  }

  async #checkKey(): Promise<void> {
    const rows = await this.#transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ${this.#keyTable} (id, key_id, "check") VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING`,
        [this.#key.id, this.#key.check()],
      )
      return tx.query<{ keyId: string; check: string }>(
        `SELECT key_id AS "keyId", "check" FROM ${this.#keyTable} WHERE id = 1`,
      )
    })
    const row = rows[0]
    if (row !== undefined && !this.#key.opensCheck(row.check)) {
      throw new ConfigError(
        `The relay secrets key (id ${this.#key.id}) is not the one the secrets in ${this.location} are sealed with (id ${row.keyId})`,
        {
          hint: 'Give this process the key the other replicas use: AGENT_COMM_RELAY_SECRETS_KEY (32 bytes, base64) or --secrets-key-file. After a key rotation, use the new key.',
          details: { keyId: this.#key.id, expectedKeyId: row.keyId },
        },
      )
    }
  }

  async #activeCount(tx: SqlQueryable, agentId: string, now: number): Promise<number> {
    const [row] = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS "n" FROM ${this.#table} WHERE agent_id = $1 AND (expires_at IS NULL OR expires_at > $2)`,
      [agentId, now],
    )
    return Number(row?.n ?? 0)
  }

  async #insert(tx: SqlQueryable, agentId: string, secret: string, now: number): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.#table} (agent_id, sealed, created_at, expires_at) VALUES ($1, $2, $3, NULL)`,
      [agentId, this.#key.seal(secret), now],
    )
  }

  /** One agent's change, serialised with any other change of that agent, announced to every replica on commit. */
  async #change<T>(agentId: string, fn: (tx: SqlQueryable, now: number) => Promise<T>): Promise<T> {
    const result = await this.#transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `agent_comm.relay_secret.${this.#schema}.${agentId}`,
      ])
      const value = await fn(tx, this.#clock.now())
      await tx.query('SELECT pg_notify($1, $2)', [this.#channel, agentId])
      return value
    })
    this.#forget(agentId)
    return result
  }

  #forget(agentId: string): void {
    if (agentId === '') this.#cache.clear()
    else this.#cache.delete(agentId)
  }

  #transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return withStorageErrors(this.location, () => this.#client.transaction(fn))
  }

  #read<T>(fn: (db: SqlQueryable) => Promise<T>): Promise<T> {
    return withStorageErrors(this.location, () => fn(this.#client))
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function generateHint(agentId: string): string {
  return `Generate one: agent-comm relay gen-secret ${agentId} --db <the relay's database URL>`
}
