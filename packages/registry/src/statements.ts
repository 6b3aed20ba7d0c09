import type BetterSqlite3 from 'better-sqlite3'

/**
 * What every profile read selects: the agent row in `AgentRecord` shape, plus its capabilities gathered in
 * listed order into one JSON array, so a profile (or a list of a thousand) is one query with no second
 * round trip.
 */
export const PROFILE_COLUMNS = `agents.agent_id AS agentId, agents.device AS device, agents.transport AS transport,
  agents.relay_url AS relayUrl, agents.inbox_dir AS inboxDir, agents.metadata AS metadata,
  agents.registered_at AS registeredAt, agents.last_seen AS lastSeen, agents.offline_at AS offlineAt,
  (SELECT json_group_array(c.capability ORDER BY c.position) FROM agent_capabilities c
    WHERE c.agent_id = agents.agent_id) AS capabilities`

/**
 * The registry's statements on SQLite, written by hand and prepared once per connection. drizzle stays the
 * source of the schema and its migrations (`schema.ts`, `drizzle/`), but loading its query builder costs a
 * process far more than these statements ever do (issue #15: 0.6–0.9 s and ~150 MiB under Node 24), so
 * the runtime does without it.
 */
export function prepareStatements(sqlite: BetterSqlite3.Database): RegistryStatements {
  return {
    profileById: sqlite.prepare(`SELECT ${PROFILE_COLUMNS} FROM agents WHERE agents.agent_id = ?`),
    lastSeenById: sqlite.prepare('SELECT last_seen FROM agents WHERE agent_id = ?').pluck(),
    // registered_at is left alone on conflict; last_seen never moves back, whichever process's clock wrote it.
    upsert: sqlite.prepare(`INSERT INTO agents
        (agent_id, device, transport, relay_url, inbox_dir, metadata, registered_at, last_seen, offline_at)
      VALUES (@agentId, @device, @transport, @relayUrl, @inboxDir, @metadata, @now, @now, NULL)
      ON CONFLICT (agent_id) DO UPDATE SET device = excluded.device, transport = excluded.transport,
        relay_url = excluded.relay_url, inbox_dir = excluded.inbox_dir, metadata = excluded.metadata,
        last_seen = max(agents.last_seen, excluded.last_seen), offline_at = NULL`),
    deleteCapabilities: sqlite.prepare('DELETE FROM agent_capabilities WHERE agent_id = ?'),
    insertCapability: sqlite.prepare(
      'INSERT INTO agent_capabilities (agent_id, capability, position) VALUES (?, ?, ?)',
    ),
    heartbeat: sqlite.prepare(
      'UPDATE agents SET last_seen = max(last_seen, @now), offline_at = NULL WHERE agent_id = @agentId',
    ),
    touch: sqlite.prepare('UPDATE agents SET last_seen = max(last_seen, @now) WHERE agent_id = @agentId'),
    setOffline: sqlite.prepare('UPDATE agents SET offline_at = @now WHERE agent_id = @agentId'),
    deleteAgent: sqlite.prepare('DELETE FROM agents WHERE agent_id = ?'),
    dataVersion: sqlite.prepare('PRAGMA data_version').pluck(),
  }
}

/** The prepared statements of one connection. */
export type RegistryStatements = Record<
  | 'profileById'
  | 'lastSeenById'
  | 'upsert'
  | 'deleteCapabilities'
  | 'insertCapability'
  | 'heartbeat'
  | 'touch'
  | 'setOffline'
  | 'deleteAgent'
  | 'dataVersion',
  BetterSqlite3.Statement
>
