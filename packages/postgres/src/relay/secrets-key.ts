import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { ConfigError } from '@agent-comm/protocol'

/** The text sealed as the key check: opening it proves a replica holds the key the secrets were sealed with. */
const KEY_CHECK_TEXT = 'agent-comm relay secrets key check v1'

/**
 * The key that encrypts agents' relay secrets at rest (AES-256-GCM, `node:crypto`): 32 bytes the replicas
 * read from their environment or a file, never written to the database. Each sealed value carries its own
 * random 96-bit IV and the 128-bit tag that proves it was sealed under this key and not changed since.
 */
export class RelaySecretsKey {
  readonly #key: Buffer
  /** A short fingerprint (first 8 bytes of SHA-256, hex) to tell keys apart in logs and the key check row. */
  readonly id: string

  private constructor(key: Buffer) {
    this.#key = key
    this.id = createHash('sha256').update(key).digest('hex').slice(0, 16)
  }

  /**
   * Reads a key from its base64 (or base64url) text, as written by `relay gen-secrets-key`. Throws a
   * `ConfigError` naming `source` (the variable or file it came from) unless it is exactly 32 bytes.
   */
  static fromBase64(text: string, source: string): RelaySecretsKey {
    const trimmed = text.trim()
    const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0)
    if (bytes.length !== 32) {
      throw new ConfigError(`${source} is not a relay secrets key: it must be 32 random bytes in base64`, {
        hint: 'Make one with: openssl rand -base64 32, and give every replica the same.',
        details: { source },
      })
    }
    return new RelaySecretsKey(bytes)
  }

  /** A fresh random key. */
  static generate(): RelaySecretsKey {
    return new RelaySecretsKey(randomBytes(32))
  }

  /** The key as base64 text, for a file or an environment variable. */
  toBase64(): string {
    return this.#key.toString('base64')
  }

  /** `iv.tag.ciphertext` (base64url each) of `plain`. */
  seal(plain: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.')
  }

  /** The plain text of a value sealed under this key; undefined when it was sealed under another (or altered). */
  open(sealed: string): string | undefined {
    const parts = sealed.split('.')
    if (parts.length !== 3) return undefined
    const [iv, tag, body] = parts.map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer]
    if (iv.length !== 12 || tag.length !== 16) return undefined
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv)
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
    } catch {
      // The tag did not verify: another key, or a changed value. The caller says which it was.
      return undefined
    }
  }

  /** The key check value stored beside the secrets. */
  check(): string {
    return this.seal(KEY_CHECK_TEXT)
  }

  /** Whether `check` was sealed under this key. */
  opensCheck(check: string): boolean {
    return this.open(check) === KEY_CHECK_TEXT
  }
}
