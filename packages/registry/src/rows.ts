import type { AgentProfile } from '@agent-comm/protocol'
import { JsonObjectSchema, StorageError } from '@agent-comm/protocol'
import { z } from 'zod'
import { deriveStatus, type PresenceWindows } from './status.js'
import type { AgentRecord } from './store.js'

const StoredCapabilitiesSchema = z.array(z.string())

/** Parses JSON this package wrote; a row that fails is reported as damaged storage, not as bad input. */
function parseStored<S extends z.ZodType>(
  schema: S,
  text: string,
  column: string,
  agentId: string,
): z.output<S> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw damaged(agentId, column, error)
  }
  const result = schema.safeParse(value)
  if (!result.success) throw damaged(agentId, column, result.error)
  return result.data
}

function damaged(agentId: string, column: string, cause: unknown): StorageError {
  return new StorageError(`The stored profile of agent '${agentId}' has an unreadable ${column}`, {
    hint: `Register the agent again to rewrite its profile: agent-comm register ${agentId} …`,
    cause,
    details: { agentId, column },
  })
}

/**
 * Rows whose JSON columns were checked already: a row kept in the registry's memory is rebuilt into a
 * profile on every read, and its text was validated the first time.
 */
const checkedRows = new WeakSet<AgentRecord>()

/** Rebuilds the protocol profile from its row, with the status derived at `now`. */
export function profileFromRow(row: AgentRecord, now: number, windows: PresenceWindows): AgentProfile {
  const checked = checkedRows.has(row)
  const profile: AgentProfile = {
    agentId: row.agentId,
    capabilities: checked
      ? (JSON.parse(row.capabilities) as string[])
      : parseStored(StoredCapabilitiesSchema, row.capabilities, 'capabilities', row.agentId),
    device: row.device,
    transport: row.transport,
    status: deriveStatus(row, now, windows),
    lastSeen: new Date(row.lastSeen).toISOString(),
    registeredAt: new Date(row.registeredAt).toISOString(),
    metadata: checked
      ? (JSON.parse(row.metadata) as AgentProfile['metadata'])
      : parseStored(JsonObjectSchema, row.metadata, 'metadata', row.agentId),
  }
  checkedRows.add(row)
  if (row.relayUrl !== null) profile.relayUrl = row.relayUrl
  if (row.inboxDir !== null) profile.inboxDir = row.inboxDir
  return profile
}
