import { createHash, randomBytes } from 'node:crypto'
import type { Clock } from '@agent-comm/protocol'
import { AgentIdSchema, closeOnFailure, parseOrThrow, systemClock } from '@agent-comm/protocol'
import { z } from 'zod'
import type { A2AStore, TokenRecord } from './store.js'

/** A caller name: what follows `a2a:` in the caller's agent id. */
export const CallerNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(/^[A-Za-z0-9._@-]+$/, 'may contain only letters, digits and . _ @ -')

/** A token as issued: shown once, never stored. */
export interface IssuedToken {
  name: string
  token: string
  agents: string[] | undefined
  createdAt: string
}

/** A token as listed: no secret. */
export interface TokenInfo {
  name: string
  agents: string[] | undefined
  createdAt: string
  revokedAt: string | undefined
}

/** SHA-256 of a bearer token, hex: how tokens are looked up and stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/**
 * Issues, lists, revokes and checks the bearer tokens of external A2A callers. Tokens are 32 random
 * bytes (base64url, prefixed `a2a_`), stored as their SHA-256: a high-entropy token needs no slow hash.
 */
export class A2ATokens {
  readonly #store: A2AStore
  readonly #clock: Clock

  constructor(store: A2AStore, options: { clock?: Clock } = {}) {
    this.#store = store
    this.#clock = options.clock ?? systemClock
  }

  /** Creates the token of caller `name`, limited to `agents` if given. The token is returned only here. */
  async create(name: string, options: { agents?: readonly string[] } = {}): Promise<IssuedToken> {
    const caller = parseOrThrow(CallerNameSchema, name, 'A2A caller name')
    const agents =
      options.agents === undefined || options.agents.length === 0
        ? undefined
        : options.agents.map((a) => parseOrThrow(AgentIdSchema, a, 'agent id'))
    const token = `a2a_${randomBytes(32).toString('base64url')}`
    const createdAt = this.#clock.now()
    await this.#store.insertToken({
      name: caller,
      tokenHash: hashToken(token),
      agents,
      createdAt,
      revokedAt: undefined,
    })
    return { name: caller, token, agents, createdAt: new Date(createdAt).toISOString() }
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.#store.listTokens()).map(toInfo)
  }

  /** Revokes the token of `name`; false when it had none (or it was revoked already). */
  async revoke(name: string): Promise<boolean> {
    return this.#store.revokeToken(name, this.#clock.now())
  }

  /** The live token record matching `token`, or undefined. */
  async verify(token: string): Promise<TokenRecord | undefined> {
    if (!token.startsWith('a2a_') || token.length > 200) return undefined
    return this.#store.tokenByHash(hashToken(token))
  }
}

function toInfo(record: TokenRecord): TokenInfo {
  return {
    name: record.name,
    agents: record.agents,
    createdAt: new Date(record.createdAt).toISOString(),
    revokedAt: record.revokedAt === undefined ? undefined : new Date(record.revokedAt).toISOString(),
  }
}

/**
 * Opens the caller tokens of the relay whose database is the SQLite file `path` (its `relay.db`), for the
 * CLI's `relay a2a-token`. Close it when done.
 */
export async function openRelayTokens(
  path: string,
  options: { clock?: Clock } = {},
): Promise<{ tokens: A2ATokens; close(): Promise<void> }> {
  const { Spool } = await import('@agent-comm/spool')
  const { SqliteA2AStore } = await import('./sqlite/store.js')
  const spool = await Spool.open({ path, clock: options.clock })
  const close = () => spool.close()
  return closeOnFailure(close, () => ({
    tokens: new A2ATokens(spool.openShared(SqliteA2AStore.shared()), options),
    close,
  }))
}
