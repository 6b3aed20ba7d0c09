import { createHash, randomUUID } from 'node:crypto'
import type { Clock } from '@agent-comm/protocol'
import { ConfigError } from '@agent-comm/protocol'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose'
import type { A2AStore, SigningKeyRecord } from './store.js'

/** The JWS algorithm pushes are signed with: ECDSA P-256 with SHA-256 (small keys, small signatures). */
export const PUSH_SIGNING_ALG = 'ES256'

/** Where the relay publishes the public keys of push signatures (relative to its root). */
export const JWKS_PATH = '/.well-known/jwks.json'

/**
 * Seals and opens text under a key the database never sees: the relay's secrets key
 * (`RelaySecretsKey` of `@agent-comm/postgres`, AES-256-GCM) is one.
 */
export interface Sealer {
  /** A short fingerprint of the key, for error messages. */
  readonly id: string
  seal(plain: string): string
  /** The plain text, or undefined when `sealed` was sealed under another key (or altered). */
  open(sealed: string): string | undefined
}

/** What a push signature covers, besides the times and a unique id. */
export interface PushClaims {
  /** The exact request body: its SHA-256 (hex) is the `request_body_sha256` claim. */
  body: string
  taskId: string
  /** The webhook URL (the `aud` claim): a signature for one webhook is no good at another. */
  audience: string
}

/** Signs push notifications (see {@link A2ASigningKeys}). */
export interface PushSigner {
  /** A compact JWS (a JWT) over the claims, its header naming the key (`kid`). */
  sign(claims: PushClaims): Promise<string>
}

/** Options of {@link A2ASigningKeys.open}. */
export interface A2ASigningKeysOptions {
  store: A2AStore
  /** Seals the private key at rest (the relay's secrets key). */
  sealer: Sealer
  clock: Clock
  /** The `iss` claim: the relay's public base URL (none by default). */
  issuer?: string
  /** How long a push signature is valid, in ms (5 minutes): a receiver refuses an older one (replay). */
  ttlMs?: number
  /** Age at which the current key is replaced by a new one, in ms (30 days). */
  rotateAfterMs?: number
  /** How long a replaced key stays in the JWKS, in ms (7 days): signatures made just before still verify. */
  graceMs?: number
  /** How often a replica re-reads the current key (another may have rotated it), in ms (60 s). */
  refreshMs?: number
}

type PrivateKey = Awaited<ReturnType<typeof importJWK>>

interface CurrentKey {
  record: SigningKeyRecord
  key: PrivateKey
  loadedAt: number
}

/**
 * The relay's push-signing key pairs, kept in the A2A store so every replica signs with the same key and
 * a restart keeps it: generated on first start (compare-and-set, so replicas starting together agree),
 * replaced after `rotateAfterMs`, a replaced key kept in the JWKS for `graceMs`. Signatures are JWTs
 * (ES256, `kid` in the header) with `iat`, `exp`, `jti`, `aud` (the webhook URL), `taskId` and
 * `request_body_sha256`, as in A2A's push-notification guidance; receivers verify them against
 * {@link A2ASigningKeys.jwks}, published at `/.well-known/jwks.json`.
 */
export class A2ASigningKeys implements PushSigner {
  readonly #options: A2ASigningKeysOptions
  readonly #ttlMs: number
  readonly #rotateAfterMs: number
  readonly #graceMs: number
  readonly #refreshMs: number
  #current: CurrentKey | undefined
  #loading: Promise<CurrentKey> | undefined

  private constructor(options: A2ASigningKeysOptions) {
    this.#options = options
    this.#ttlMs = options.ttlMs ?? 5 * 60_000
    this.#rotateAfterMs = options.rotateAfterMs ?? 30 * 86_400_000
    this.#graceMs = options.graceMs ?? 7 * 86_400_000
    this.#refreshMs = options.refreshMs ?? 60_000
  }

  /**
   * Opens the keys, generating the first pair if the store has none. Throws a `ConfigError` when the
   * stored private key does not open under `sealer` (this replica was given another secrets key).
   */
  static async open(options: A2ASigningKeysOptions): Promise<A2ASigningKeys> {
    const keys = new A2ASigningKeys(options)
    await keys.#currentKey()
    return keys
  }

  /** The id of the key that signs now. */
  async currentKid(): Promise<string> {
    return (await this.#currentKey()).record.kid
  }

  /** The public keys receivers verify with: the current one and those still in their grace period. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const now = this.#options.clock.now()
    const records = await this.#options.store.signingKeys()
    return {
      keys: records
        .filter((r) => r.expiresAt === undefined || r.expiresAt > now)
        .map((r) => ({ ...(JSON.parse(r.publicJwk) as JWK), kid: r.kid, alg: r.alg, use: 'sig' })),
    }
  }

  /**
   * Replaces the current key by a new one now (the old one stays in the JWKS for the grace period);
   * returns the new key id. Another replica rotating at the same moment wins or loses as a whole.
   */
  async rotate(): Promise<string> {
    const current = await this.#currentKey()
    await this.#replace(current.record.kid)
    this.#current = undefined
    return (await this.#currentKey()).record.kid
  }

  async sign(claims: PushClaims): Promise<string> {
    const { record, key } = await this.#currentKey()
    const now = this.#options.clock.now()
    const iat = Math.floor(now / 1000)
    const jwt = new SignJWT({
      taskId: claims.taskId,
      request_body_sha256: createHash('sha256').update(claims.body, 'utf8').digest('hex'),
    })
      .setProtectedHeader({ alg: record.alg, kid: record.kid, typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(iat + Math.ceil(this.#ttlMs / 1000))
      .setJti(randomUUID())
      .setAudience(claims.audience)
    if (this.#options.issuer !== undefined) jwt.setIssuer(this.#options.issuer)
    return jwt.sign(key)
  }

  /** The current key, re-read every `refreshMs` and rotated when it is older than `rotateAfterMs`. */
  async #currentKey(): Promise<CurrentKey> {
    const now = this.#options.clock.now()
    const cached = this.#current
    if (cached !== undefined && now - cached.loadedAt < this.#refreshMs) return cached
    // One load at a time: concurrent pushes share it.
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined
    })
    this.#current = await this.#loading
    return this.#current
  }

  async #load(): Promise<CurrentKey> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = this.#options.clock.now()
      const current = (await this.#options.store.signingKeys()).find((r) => r.retiredAt === undefined)
      if (current !== undefined && now - current.createdAt < this.#rotateAfterMs) {
        // The same key as before is not opened again: after the secrets key was rotated (the private key
        // re-sealed under the new one), a replica not yet restarted goes on signing with what it holds.
        const held = this.#current?.record.kid === current.kid ? this.#current.key : undefined
        return { record: current, key: held ?? (await this.#privateKey(current)), loadedAt: now }
      }
      // None yet, or due for rotation: whoever replaces it first wins, the others read the winner's.
      await this.#replace(current?.kid)
    }
    throw new Error('the push signing key kept changing while it was read (five attempts)')
  }

  async #replace(expectedKid: string | undefined): Promise<boolean> {
    const { publicKey, privateKey } = await generateKeyPair(PUSH_SIGNING_ALG, { extractable: true })
    const publicJwk = await exportJWK(publicKey)
    const privateJwk = await exportJWK(privateKey)
    const now = this.#options.clock.now()
    return this.#options.store.replaceSigningKey(
      {
        kid: await calculateJwkThumbprint(publicJwk),
        alg: PUSH_SIGNING_ALG,
        publicJwk: JSON.stringify(publicJwk),
        sealedPrivateJwk: this.#options.sealer.seal(JSON.stringify(privateJwk)),
        createdAt: now,
        retiredAt: undefined,
        expiresAt: undefined,
      },
      expectedKid,
      now + this.#graceMs,
    )
  }

  async #privateKey(record: SigningKeyRecord): Promise<PrivateKey> {
    const plain = this.#options.sealer.open(record.sealedPrivateJwk)
    if (plain === undefined) {
      throw new ConfigError(
        `The A2A push signing key ${record.kid} in the database does not open under this relay's secrets key (${this.#options.sealer.id})`,
        {
          hint: 'Give every replica the same secrets key (AGENT_COMM_RELAY_SECRETS_KEY or --secrets-key-file) as the one that made the key.',
          details: { kid: record.kid },
        },
      )
    }
    return importJWK(JSON.parse(plain) as JWK, record.alg)
  }
}
