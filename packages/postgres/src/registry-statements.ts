/**
 * The SQL of the PostgreSQL registry store, per schema (the name is validated before it is written in).
 * The same operations as the SQLite registry store, written for PostgreSQL.
 */

/** The SQL of one schema's registry. */
export function registryStatements(schema: string) {
  const agents = `"${schema}".agents`
  const capabilities = `"${schema}".agent_capabilities`
  // The agent row plus its capabilities gathered in listed order into one JSON array (as text, like the
  // SQLite store's json_group_array), so a profile or a list is one query.
  const profile = `SELECT a.agent_id AS "agentId", a.device AS "device", a.transport AS "transport",
      a.relay_url AS "relayUrl", a.inbox_dir AS "inboxDir", a.metadata AS "metadata",
      a.registered_at AS "registeredAt", a.last_seen AS "lastSeen", a.offline_at AS "offlineAt",
      coalesce((SELECT json_agg(c.capability ORDER BY c.position) FROM ${capabilities} c
        WHERE c.agent_id = a.agent_id), '[]')::text AS "capabilities"
    FROM ${agents} a`
  return {
    profile,
    profileById: `${profile} WHERE a.agent_id = $1`,
    // registered_at is left alone on a second registration; last_seen never moves back, whichever
    // process's clock wrote it. The conflicting row is locked until commit, so two registrations of the
    // same agent run one after the other and neither sees the other's profile with its own capabilities.
    upsertAgent: `INSERT INTO ${agents}
        (agent_id, device, transport, relay_url, inbox_dir, metadata, registered_at, last_seen, offline_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL)
      ON CONFLICT (agent_id) DO UPDATE SET device = EXCLUDED.device, transport = EXCLUDED.transport,
        relay_url = EXCLUDED.relay_url, inbox_dir = EXCLUDED.inbox_dir, metadata = EXCLUDED.metadata,
        last_seen = greatest(${agents}.last_seen, EXCLUDED.last_seen), offline_at = NULL`,
    deleteCapabilities: `DELETE FROM ${capabilities} WHERE agent_id = $1`,
    insertCapabilities: `INSERT INTO ${capabilities} (agent_id, capability, position)
      SELECT $1, c, n - 1 FROM unnest($2::text[]) WITH ORDINALITY AS t(c, n)`,
    heartbeat: `UPDATE ${agents} SET last_seen = greatest(last_seen, $2), offline_at = NULL WHERE agent_id = $1`,
    lastSeen: `SELECT last_seen AS "lastSeen" FROM ${agents} WHERE agent_id = $1`,
    // The registry's change notification ($3, payload $4) rides in the same statement when a row changed.
    touch: `WITH touched AS (
        UPDATE ${agents} SET last_seen = greatest(last_seen, $2) WHERE agent_id = $1 RETURNING 1
      ), told AS (SELECT pg_notify($3, $4) FROM touched)
      SELECT 1 AS "n" FROM touched, (SELECT count(*) FROM told) t`,
    setOffline: `UPDATE ${agents} SET offline_at = $2 WHERE agent_id = $1`,
    deleteAgent: `WITH deleted AS (DELETE FROM ${agents} WHERE agent_id = $1 RETURNING 1),
        told AS (SELECT pg_notify($2, $3) FROM deleted)
      SELECT 1 AS "n" FROM deleted, (SELECT count(*) FROM told) t`,
    changed: 'SELECT pg_notify($1, $2)',
    capabilityHolders: (param: string) =>
      `a.agent_id IN (SELECT agent_id FROM ${capabilities} WHERE capability = ${param})`,
  }
}

/** The statements of one schema's registry. */
export type RegistryStatements = ReturnType<typeof registryStatements>
