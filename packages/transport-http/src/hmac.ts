import { createHmac, createSecretKey, hash, type KeyObject, timingSafeEqual } from 'node:crypto'
import { isAgentId, RandomPool } from '@agent-comm/protocol'

/** Name of the signing scheme; the first line of every canonical request, so a signature made for another scheme never verifies. */
export const AUTH_SCHEME = 'AGENT-COMM-HMAC-SHA256'

/**
 * Name of version 2 of the scheme, which also signs the relay's audience (see {@link SignedRequestParts}).
 * A version 2 signature is sent as `v2=<hex>` in `X-Signature`; a bare hex signature is version 1.
 */
export const AUTH_SCHEME_V2 = 'AGENT-COMM-HMAC-SHA256-V2'

/** What a relay audience may be: printable ASCII without spaces, 1–256 characters (it is one line of the canonical request). */
export const AUDIENCE_PATTERN = /^[\x21-\x7e]{1,256}$/

/** The request headers that carry the signature, lower-cased as Node reports them. */
export const AuthHeader = {
  agentId: 'x-agent-id',
  timestamp: 'x-timestamp',
  nonce: 'x-nonce',
  signature: 'x-signature',
} as const

/** How far a request's timestamp may be from the relay's clock, either way, by default: five minutes (the protocol's). */
export { DEFAULT_AUTH_WINDOW_MS } from '@agent-comm/protocol'

const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/
const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/
const SIGNATURE_HEADER_PATTERN = /^(v2=)?([0-9a-f]{64})$/
const TIMESTAMP_PATTERN = /^\d{1,16}$/

/** What a signature covers. */
export interface SignedRequestParts {
  /** HTTP method, e.g. `POST` (compared upper-cased). */
  method: string
  /** The request target exactly as sent on the request line: path and query string, e.g. `/api/v1/agents/b/wait?timeoutMs=0`. */
  path: string
  /** SHA-256 of the raw body bytes, hex; {@link bodyDigest} of an empty body for a request without one. */
  bodySha256: string
  /** Milliseconds since the Unix epoch, by the signer's clock. */
  timestamp: number
  /** A value the signer never uses twice (see {@link newNonce}). */
  nonce: string
  agentId: string
  /**
   * The relay the request is meant for (version 2): a name the relay is configured with (`--audience`,
   * shared by its replicas), so a request signed for one relay is refused by another that knows the same
   * secret. Absent: a version 1 signature, valid at any relay that has the secret.
   */
  audience?: string
}

/**
 * Hex SHA-256 of a request body; `undefined` and the empty string hash alike. One-shot `hash`: every
 * request is hashed on both ends, and a `Hash` object per call costs more than the digest of a small body.
 */
export function bodyDigest(body: string | Uint8Array | undefined): string {
  return hash('sha256', body ?? '', 'hex')
}

/**
 * The string a signature is computed over: the scheme name, method, path with query, timestamp, nonce,
 * agent id and body hash, one per line. Every part that decides what a request does is in it, so a
 * signature cannot be moved to another path, agent, body or moment. None of the parts can hold a newline
 * (the relay checks each header's shape first), so no two requests share a canonical string.
 */
export function canonicalRequest(parts: SignedRequestParts): string {
  const v2 = parts.audience !== undefined
  return [
    v2 ? AUTH_SCHEME_V2 : AUTH_SCHEME,
    parts.method.toUpperCase(),
    parts.path,
    String(parts.timestamp),
    parts.nonce,
    parts.agentId,
    // Version 2 binds the request to one relay: its audience comes before the body hash.
    ...(v2 ? [parts.audience] : []),
    parts.bodySha256,
  ].join('\n')
}

/** Hex HMAC-SHA256 of `canonical` keyed with the UTF-8 bytes of `secret`. */
export function computeSignature(secret: string, canonical: string): string {
  return createHmac('sha256', hmacKey(secret)).update(canonical).digest('hex')
}

/** Most HMAC keys kept ready (an agent's, a relay's agents'); past it the cache starts afresh. */
const MAX_HMAC_KEYS = 10_000
const hmacKeys = new Map<string, KeyObject>()

/**
 * `secret` as a ready HMAC key: both ends sign or verify every request with the same few secrets, and a
 * key made from a string on each call costs about a third of a small request's HMAC.
 */
function hmacKey(secret: string): KeyObject {
  let key = hmacKeys.get(secret)
  if (key === undefined) {
    if (hmacKeys.size >= MAX_HMAC_KEYS) hmacKeys.clear()
    key = createSecretKey(secret, 'utf8')
    hmacKeys.set(secret, key)
  }
  return key
}

/** Where nonces come from: `node:crypto` bytes drawn 4 KiB at a time, each handed out once. */
const nonceRandom = new RandomPool()

/** A fresh 128-bit nonce from `node:crypto`, base64url. */
export function newNonce(): string {
  return nonceRandom.bytes(16).toString('base64url')
}

/** What {@link signRequest} needs besides the secret. */
export interface SignRequestInput {
  method: string
  path: string
  body?: string | Uint8Array
  agentId: string
  timestamp: number
  /** Defaults to a fresh {@link newNonce}; pass one only to reproduce a signature. */
  nonce?: string
  /** The relay's audience: signs version 2 (`v2=` in `X-Signature`); without it, version 1. */
  audience?: string
}

/** The four authentication headers of a request signed with `secret`. */
export function signRequest(secret: string, input: SignRequestInput): Record<string, string> {
  const nonce = input.nonce ?? newNonce()
  const signature = computeSignature(
    secret,
    canonicalRequest({
      method: input.method,
      path: input.path,
      bodySha256: bodyDigest(input.body),
      timestamp: input.timestamp,
      nonce,
      agentId: input.agentId,
      audience: input.audience,
    }),
  )
  return {
    [AuthHeader.agentId]: input.agentId,
    [AuthHeader.timestamp]: String(input.timestamp),
    [AuthHeader.nonce]: nonce,
    [AuthHeader.signature]: input.audience === undefined ? signature : `v2=${signature}`,
  }
}

/**
 * True when `signature` is the signature of `canonical` under one of `secrets` (an agent has two while a
 * rotation's grace period runs). Every secret is checked, with `timingSafeEqual`, whichever matches, so the
 * time taken says nothing about the signature or which secret it was made with.
 */
export function verifySignature(secrets: readonly string[], canonical: string, signature: string): boolean {
  if (!SIGNATURE_PATTERN.test(signature)) return false
  const given = Buffer.from(signature, 'hex')
  let matched = false
  for (const secret of secrets) {
    const expected = createHmac('sha256', hmacKey(secret)).update(canonical).digest()
    if (timingSafeEqual(expected, given)) matched = true
  }
  return matched
}

/** The authentication headers of a request, checked for shape only. */
export interface AuthHeaders {
  agentId: string
  timestamp: number
  nonce: string
  /** The signature's hex digits, without the `v2=` of version 2. */
  signature: string
  /** 2 when the signature also covers the relay's audience (`v2=` prefix), else 1. */
  version: 1 | 2
}

/** Why {@link readAuthHeaders} refused a request's headers. */
export type AuthHeaderProblem = { header: string; problem: string }

/**
 * Reads and shape-checks the authentication headers (agent id syntax, a decimal millisecond timestamp, a
 * 16–128 character base64url nonce, a 64-digit lower-case hex signature, `v2=` before it for version 2). It proves nothing: verify the
 * signature next.
 */
export function readAuthHeaders(
  headers: Record<string, string | string[] | undefined>,
): { ok: true; value: AuthHeaders } | { ok: false; problem: AuthHeaderProblem } {
  const get = (name: string): string | undefined => {
    const value = headers[name]
    return typeof value === 'string' ? value : undefined
  }
  const agentId = get(AuthHeader.agentId)
  const timestamp = get(AuthHeader.timestamp)
  const nonce = get(AuthHeader.nonce)
  const signature = get(AuthHeader.signature)
  // The parse-free check of the agent id schema (every request carries one).
  if (agentId === undefined || !isAgentId(agentId)) {
    return { ok: false, problem: { header: 'X-Agent-ID', problem: 'missing or not an agent id' } }
  }
  if (timestamp === undefined || !TIMESTAMP_PATTERN.test(timestamp)) {
    return {
      ok: false,
      problem: { header: 'X-Timestamp', problem: 'missing or not milliseconds since the epoch' },
    }
  }
  if (nonce === undefined || !NONCE_PATTERN.test(nonce)) {
    return {
      ok: false,
      problem: { header: 'X-Nonce', problem: 'missing or not 16–128 base64url characters' },
    }
  }
  const signed = signature === undefined ? null : SIGNATURE_HEADER_PATTERN.exec(signature)
  if (signed === null) {
    return {
      ok: false,
      problem: {
        header: 'X-Signature',
        problem: 'missing or not 64 lower-case hex digits (after v2= for version 2)',
      },
    }
  }
  return {
    ok: true,
    value: {
      agentId,
      timestamp: Number(timestamp),
      nonce,
      signature: signed[2]!,
      version: signed[1] === undefined ? 1 : 2,
    },
  }
}
