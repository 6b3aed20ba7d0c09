// Shared pieces of the PostgreSQL benchmarks: scratch databases, the spool-like schema, and statistics.
import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The server the benchmarks use: AGENT_COMM_BENCH_PG_URL, else the local test server. */
export const SERVER_URL = process.env.AGENT_COMM_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export const now = () => performance.now()
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
export const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
export const body =
  'Please implement user authentication with JWT tokens. Requirements: refresh tokens, revocation.'

async function admin(statement) {
  const client = new pg.Client({ connectionString: SERVER_URL })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

/**
 * Creates a database of its own for one contender; returns its URL and a drop function. `asyncCommit`
 * sets synchronous_commit off for every session of that database (a commit no longer waits for the WAL
 * flush): only for comparisons where every contender gets it, and said so.
 */
export async function scratchDatabase(label, { asyncCommit = false } = {}) {
  const name = `agent_comm_bench_${label}_${randomBytes(4).toString('hex')}`
  await admin(`CREATE DATABASE "${name}"`)
  if (asyncCommit) await admin(`ALTER DATABASE "${name}" SET synchronous_commit = off`)
  const url = new URL(SERVER_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    /**
     * What autovacuum would do to this database, run now: `'vacuum'` (VACUUM (ANALYZE)), `'analyze'`
     * (ANALYZE: fresh statistics, which also makes every connection re-plan its prepared statements), or
     * `'none'`. The benchmarks' server may run with autovacuum off (this project's CI does), and then
     * nothing ever does it.
     */
    /** Rows read by sequential scans of this database's tables so far (pg_stat_user_tables). */
    seqRowsRead: async () => {
      const client = new pg.Client({ connectionString: url.toString() })
      await client.connect()
      try {
        // Statistics reach the shared counters when a backend flushes them (at the latest as it exits).
        await new Promise((resolve) => setTimeout(resolve, 500))
        const { rows } = await client.query(
          'SELECT coalesce(sum(seq_tup_read), 0)::int8 AS n FROM pg_stat_user_tables',
        )
        return Number(rows[0].n)
      } finally {
        await client.end()
      }
    },
    maintain: async (kind) => {
      if (kind === 'none') return
      const client = new pg.Client({ connectionString: url.toString() })
      await client.connect()
      try {
        await client.query(kind === 'analyze' ? 'ANALYZE' : 'VACUUM (ANALYZE)')
      } finally {
        await client.end()
      }
    },
  }
}

/**
 * The spool's two tables as PostgreSQL would hold them (packages/spool/src/schema.ts: same columns, ms
 * timestamps as bigint, the same partial indexes — the claim index covers queued deliveries only).
 */
export const SCHEMA = `
CREATE TABLE messages (
  seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, from_agent text NOT NULL, to_agent text NOT NULL,
  subject text NOT NULL, body text NOT NULL, priority integer NOT NULL, conversation_id text NOT NULL,
  reply_to text, ttl_hours real NOT NULL, payload text, metadata text, created_at bigint NOT NULL,
  expires_at bigint NOT NULL, held_until bigint, held_max_attempts integer);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, seq);
CREATE TABLE deliveries (
  id bigserial PRIMARY KEY, message_seq bigint NOT NULL REFERENCES messages (seq) ON DELETE CASCADE,
  recipient text NOT NULL, status text NOT NULL, priority integer NOT NULL, attempt integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL, available_at bigint NOT NULL, lease_until bigint, receipt text,
  expires_at bigint NOT NULL, last_error text, created_at bigint NOT NULL, updated_at bigint NOT NULL,
  acked_at bigint);
CREATE UNIQUE INDEX deliveries_message_recipient_unique ON deliveries (message_seq, recipient);
CREATE INDEX deliveries_claim_idx ON deliveries (recipient, priority, id) WHERE status = 'queued';
CREATE INDEX deliveries_lease_idx ON deliveries (recipient, available_at) WHERE status = 'leased';
CREATE INDEX deliveries_failed_idx ON deliveries (recipient) WHERE status = 'failed';
`

/** Send one message to one recipient: the message row and its delivery row in one statement. */
export const SEND_ONE = `WITH m AS (
  INSERT INTO messages (id, from_agent, to_agent, subject, body, priority, conversation_id, ttl_hours, created_at, expires_at)
  VALUES ($1, 'architect', $2, 'Task', $3, 2, 'conv_' || $1, 24, $4, $5) RETURNING seq)
INSERT INTO deliveries (message_seq, recipient, status, priority, max_attempts, available_at, expires_at, created_at, updated_at)
SELECT seq, $2, 'queued', 2, 3, $4, $5, $4, $4 FROM m`

/** Claim up to $5 deliveries of $1: the first queued by priority then arrival, skipping locked rows. */
export const CLAIM = `WITH c AS (
  SELECT id FROM deliveries WHERE recipient = $1 AND status = 'queued' AND available_at <= $2
  ORDER BY priority, id LIMIT $5 FOR UPDATE SKIP LOCKED)
UPDATE deliveries d SET status = 'leased', attempt = attempt + 1, receipt = $3 || '.' || d.id,
  lease_until = $4, available_at = $4, updated_at = $2
FROM c WHERE d.id = c.id RETURNING d.id, d.message_seq, d.attempt, d.max_attempts, d.receipt`

/** Ack one leased delivery, fenced by its receipt. */
export const ACK_ONE = `UPDATE deliveries SET status = 'acked', acked_at = $2, updated_at = $2, lease_until = NULL
WHERE id = $1 AND status = 'leased' AND receipt = $3 RETURNING id`

/** Send many messages to one recipient in one statement: ids and bodies as arrays. */
export const SEND_MANY = `WITH m AS (
  INSERT INTO messages (id, from_agent, to_agent, subject, body, priority, conversation_id, ttl_hours, created_at, expires_at)
  SELECT u.id, 'architect', $3, 'Task', u.body, 2, 'conv_' || u.id, 24, $4, $5
  FROM unnest($1::text[], $2::text[]) AS u(id, body) RETURNING seq)
INSERT INTO deliveries (message_seq, recipient, status, priority, max_attempts, available_at, expires_at, created_at, updated_at)
SELECT seq, $3, 'queued', 2, 3, $4, $5, $4, $4 FROM m`

/** Ack many leased deliveries, each fenced by its receipt. */
export const ACK_MANY = `UPDATE deliveries d SET status = 'acked', acked_at = $3, updated_at = $3, lease_until = NULL
FROM unnest($1::bigint[], $2::text[]) AS a(id, receipt)
WHERE d.id = a.id AND d.status = 'leased' AND d.receipt = a.receipt`

/** Prints rows of equal-length cells as an aligned table. */
export function printTable(header, rows) {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)))
  const line = (r) =>
    r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of rows) console.log(line(r))
}
