import { ValidationError } from '@agent-comm/protocol'
import type {
  DuePush,
  EventRecord,
  PushConfigRecord,
  SigningKeyRecord,
  StoredTaskState,
  TaskRecord,
  TokenRecord,
} from './store.js'

// The rows of the A2A tables as every store's driver reads them, and their readers: one place that maps
// columns to records, so the SQLite and PostgreSQL stores answer alike. A number column may come back as a
// string (PostgreSQL's bigint), hence `Number()` on each.

/** A row of `a2a_tasks`. */
export type TaskRow = {
  id: string
  caller: string
  agent: string
  context_id: string
  message_id: string
  state: string
  task: string
  created_at: number | string
  updated_at: number | string
}

/** A row of `a2a_tokens`. */
export type TokenRow = {
  name: string
  token_hash: string
  agents: string | null
  created_at: number | string
  revoked_at: number | string | null
}

/** A row of `a2a_signing_keys`. */
export type SigningKeyRow = {
  kid: string
  alg: string
  public_jwk: string
  sealed_private_jwk: string
  created_at: number | string
  retired_at: number | string | null
  expires_at: number | string | null
}

/** A row of the due-push query: the outbox row joined with its event and its config. */
export type DuePushRow = {
  id: number | string
  task_id: string
  config_id: string
  seq: number | string
  attempts: number | string
  next_at: number | string
  event: string
  config: string
}

/** The record of an `a2a_tasks` row. */
export function taskFromRow(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    caller: row.caller,
    agent: row.agent,
    contextId: row.context_id,
    messageId: row.message_id,
    state: row.state as StoredTaskState,
    task: JSON.parse(row.task) as Record<string, unknown>,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

/** The record of an `a2a_tokens` row. */
export function tokenFromRow(row: TokenRow): TokenRecord {
  return {
    name: row.name,
    tokenHash: row.token_hash,
    agents: row.agents === null ? undefined : (JSON.parse(row.agents) as string[]),
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? undefined : Number(row.revoked_at),
  }
}

/** The record of an `a2a_signing_keys` row. */
export function signingKeyFromRow(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    sealedPrivateJwk: row.sealed_private_jwk,
    createdAt: Number(row.created_at),
    retiredAt: row.retired_at === null ? undefined : Number(row.retired_at),
    expiresAt: row.expires_at === null ? undefined : Number(row.expires_at),
  }
}

/** The record of a due-push row. */
export function duePushFromRow(row: DuePushRow): DuePush {
  return {
    id: Number(row.id),
    taskId: row.task_id,
    configId: row.config_id,
    seq: Number(row.seq),
    attempts: Number(row.attempts),
    nextAt: Number(row.next_at),
    event: JSON.parse(row.event) as Record<string, unknown>,
    config: JSON.parse(row.config) as Record<string, unknown>,
  }
}

/** The record of an `a2a_events` row of `taskId`. */
export function eventFromRow(taskId: string, row: { seq: number | string; event: string }): EventRecord {
  return { taskId, seq: Number(row.seq), event: JSON.parse(row.event) as Record<string, unknown> }
}

/** The record of an `a2a_push_configs` row of `taskId`. */
export function pushConfigFromRow(taskId: string, row: { id: string; config: string }): PushConfigRecord {
  return { taskId, id: row.id, config: JSON.parse(row.config) as Record<string, unknown> }
}

/** What `insertToken` throws when `name` already has a live token. */
export function liveTokenError(name: string): ValidationError {
  return new ValidationError(
    `A2A caller '${name}' already has a token`,
    [{ path: 'name', message: 'has a live token' }],
    { hint: `Revoke it first: agent-comm relay a2a-token revoke ${name}` },
  )
}
