// The hook's cheap form of the check every other command makes when it opens a database (the spool's
// `applyMigrations`): a database that records a migration newer than every one this version ships was
// written by a newer agent-comm, and is refused with SCHEMA_VERSION rather than read with a schema we do
// not understand. The known migrations are the very journals the bundled runtime migrates with (copied
// under dist/vendor/ by scripts/bundle-runtime.mjs), so the two checks cannot disagree about "newer".
import { readFileSync } from 'node:fs'

/** The migration sets a coordinator's SQLite file holds: their bookkeeping table and vendored package. */
const SETS = [
  { name: 'spool', table: '__agent_comm_spool_migrations', pkg: '@agent-comm/spool' },
  { name: 'registry', table: '__agent_comm_registry_migrations', pkg: '@agent-comm/registry' },
] as const

/** The journal time (`when`) of the newest migration of `pkg` this version ships. */
function newestKnown(pkg: string): number {
  const journal = JSON.parse(
    readFileSync(new URL(`./vendor/${pkg}/drizzle/meta/_journal.json`, import.meta.url), 'utf8'),
  ) as { entries: { when: number }[] }
  return Math.max(0, ...journal.entries.map((entry) => entry.when))
}

/** What the hook needs of a better-sqlite3 connection. */
export interface SchemaReader {
  prepare(sql: string): { all(...params: unknown[]): unknown[] }
}

/**
 * The name of the first migration set (`spool`, `registry`) whose table records a migration newer than
 * this version knows, or undefined. Two small queries: which bookkeeping tables exist, then their newest
 * entries; the journals are read only when a table exists.
 */
export function newerSchema(db: SchemaReader): string | undefined {
  const present = new Set(
    (
      db
        .prepare(
          `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${SETS.map(() => '?').join(', ')})`,
        )
        .all(...SETS.map((set) => set.table)) as { name: string }[]
    ).map((row) => row.name),
  )
  const sets = SETS.filter((set) => present.has(set.table))
  if (sets.length === 0) return undefined
  const newest = db
    .prepare(
      sets
        .map((set) => `SELECT '${set.name}' AS name, max(created_at) AS at FROM "${set.table}"`)
        .join(' UNION ALL '),
    )
    .all() as { name: string; at: number | null }[]
  for (const set of sets) {
    const at = newest.find((row) => row.name === set.name)?.at
    if (at !== null && at !== undefined && Number(at) > newestKnown(set.pkg)) return set.name
  }
  return undefined
}
