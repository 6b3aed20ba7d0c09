import { randomBytes } from 'node:crypto'
import { AgentCommError, ErrorCode, InvalidStateError, parseOrThrow } from '@agent-comm/protocol'
import { MAX_ROTATION_GRACE_SECONDS } from '@agent-comm/protocol/bounds'
import { z } from 'zod'
import type { SecretInfo } from './types.js'

/** How long the previous secret keeps working after a rotation, by default: a day. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 86_400

/** Prefix of generated secrets, so secret scanners and people recognise one. */
export const SECRET_PREFIX = 'acs_'

const GraceSecondsSchema = z
  .number()
  .min(0, 'must not be negative')
  .max(MAX_ROTATION_GRACE_SECONDS, 'must be at most a year')

/** A new secret: the prefix and 32 random bytes from `node:crypto`, base64url. */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`
}

/**
 * How long, in ms, the secrets an agent had keep working after a rotation: `graceSeconds` (a day by
 * default, at most a year). Throws `VALIDATION` for a grace period out of bounds.
 */
export function rotationGraceMs(graceSeconds: number | undefined): number {
  const grace = parseOrThrow(
    GraceSecondsSchema,
    graceSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS,
    'grace period',
  )
  return Math.round(grace * 1000)
}

/** A secret's dates, in ms since the epoch; `expiresAt` is null for a secret not rotated out. */
export interface SecretDates {
  createdAt: number
  expiresAt: number | null
}

/** Whether a secret still works at `now`. */
export function isActive(entry: { expiresAt: number | null }, now: number): boolean {
  return entry.expiresAt === null || entry.expiresAt > now
}

/** What `list` reports of an agent with these working secrets (at least one): dates, never the secrets. */
export function secretInfo(agentId: string, active: readonly SecretDates[]): SecretInfo {
  const expiring = active.flatMap((e) => (e.expiresAt === null ? [] : [e.expiresAt]))
  return {
    agentId,
    createdAt: iso(Math.max(...active.map((e) => e.createdAt))),
    activeSecrets: active.length,
    previousValidUntil: expiring.length === 0 ? undefined : iso(Math.max(...expiring)),
  }
}

/** The refusal of `generate` for an agent that has a working secret and no `replace`. */
export function alreadyHasSecret(agentId: string): InvalidStateError {
  return new InvalidStateError(`Agent '${agentId}' already has a relay secret`, {
    hint: `Rotate it, the old one working for a grace period: agent-comm relay gen-secret ${agentId} --rotate; or replace it at once: agent-comm relay gen-secret ${agentId} --replace`,
    details: { agentId },
  })
}

/** `AGENT_NOT_FOUND` for rotating or revoking an agent without a secret; `hint` says where to generate one. */
export function noSecret(agentId: string, hint: string): AgentCommError {
  return new AgentCommError(ErrorCode.AGENT_NOT_FOUND, `Agent '${agentId}' has no relay secret`, {
    hint,
    details: { agentId },
  })
}

/** ms since the epoch as an ISO time. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}
