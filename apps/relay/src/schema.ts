import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Nonces of authenticated requests, kept until their timestamp leaves the auth window: a request whose
 * (timestamp, agent, nonce) is already here is a replay. On disk, so a restarted relay still refuses
 * replays.
 *
 * The key starts with the request's timestamp, so the table is one B-tree filled near its right edge (a new
 * nonce usually touches one leaf page) and pruning is a range delete from its left edge. The timestamp can
 * be in the key because a replay repeats it: a request with the same nonce and another timestamp carries
 * another signature, which only the secret's holder can make.
 */
export const relayNonces = sqliteTable(
  'relay_nonces',
  {
    /** The request's X-Timestamp, ms since the epoch. */
    timestamp: integer('timestamp').notNull(),
    agentId: text('agent_id').notNull(),
    nonce: text('nonce').notNull(),
  },
  (t) => [primaryKey({ columns: [t.timestamp, t.agentId, t.nonce] })],
)

/**
 * Small facts the relay keeps about itself. `nonce_retention_ms` is the widest auth window this database was
 * ever served with: nonces are kept that long, so narrowing the window and widening it again cannot let a
 * request signed inside the wide window be replayed after its nonce was pruned under the narrow one.
 */
export const relayState = sqliteTable('relay_state', {
  key: text('key').primaryKey(),
  value: integer('value').notNull(),
})
