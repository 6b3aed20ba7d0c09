import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, SchemaVersionError, StorageError } from '@agent-comm/protocol'
import { editedMigrationFiles } from '@agent-comm/spool/store'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import type { SqlClient, SqlQueryable } from './client.js'
import { DEFAULT_SCHEMA } from './schema.js'

/** Folder of this package's drizzle-kit migrations (shipped beside `dist/`). */
export const POSTGRES_MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../drizzle')

/** The table, inside the spool's schema, that records applied migrations (drizzle's shape). */
const MIGRATIONS_TABLE = '__agent_comm_spool_migrations'

/**
 * A schema name the store accepts: a lower-case unquoted identifier, short enough that the notification
 * channel `agent_comm_<schema>` stays within PostgreSQL's 63-byte identifier limit, and none of
 * PostgreSQL's system schemas (`pg_*`, `information_schema`): tables there are skipped by pg_dump, and
 * dropping one breaks the database. Checked before it is written into any statement, so the substitution
 * into the migrations cannot change what they do.
 */
export function validateSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,51}$/.test(schema) || isSystemSchema(schema)) {
    throw new ConfigError(
      `Invalid PostgreSQL schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _ (at most 52, not starting with a digit or pg_, not information_schema)`,
      { hint: `Pass a plain identifier such as '${DEFAULT_SCHEMA}' or 'team_a'.` },
    )
  }
  return schema
}

// Compared case-insensitively: an unquoted identifier is folded to lower case by PostgreSQL.
function isSystemSchema(schema: string): boolean {
  const name = schema.toLowerCase()
  return name.startsWith('pg_') || name === 'information_schema'
}

/** The outcome of {@link applyPostgresMigrations}. */
export interface PostgresMigrationResult {
  applied: number
  current: number
}

/**
 * Applies the pending migrations of `drizzle/` to `schema`, generated for {@link DEFAULT_SCHEMA} and
 * rewritten for the configured (validated) name.
 *
 * Everything happens in one transaction that first takes `pg_advisory_xact_lock` on a key derived from the
 * schema name: several processes opening a fresh database at once queue on the lock, and each after the
 * first finds the work done (CREATE SCHEMA / CREATE TABLE are not safe to race without it). A database
 * recording a migration this version does not know, newer than the newest it knows, was written by a
 * newer version: it is refused with `SchemaVersionError` rather than misread.
 */
/**
 * Throws a `StorageError` (`details.reason` `'missing'`) when `schema` holds no agent-comm database (no
 * migrations table): for callers that may not create one, so a mistyped schema name is never a new,
 * empty database. Reads only.
 */
export async function assertPostgresDatabaseExists(
  client: SqlClient,
  schema: string,
  location: string,
): Promise<void> {
  const name = validateSchemaName(schema)
  const [row] = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
    `"${name}".${MIGRATIONS_TABLE}`,
  ])
  if (row?.found === true) return
  throw new StorageError(`No agent-comm database in schema "${name}" at ${location}`, {
    hint: 'Check the schema name and the URL (a typo opens nothing); open it with create: true to start a new database there.',
    details: { reason: 'missing', schema: name, server: location },
  })
}

export async function applyPostgresMigrations(
  client: SqlClient,
  schema: string,
  folder: string = POSTGRES_MIGRATIONS_FOLDER,
): Promise<PostgresMigrationResult> {
  const name = validateSchemaName(schema)
  const quoted = `"${name}"`
  const known = readMigrationFiles({ migrationsFolder: folder })
  const table = `${quoted}.${MIGRATIONS_TABLE}`
  return client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`agent_comm.migrate.${name}`])
    const readApplied = () =>
      tx.query<{ hash: string; createdAt: number }>(
        `SELECT hash, created_at AS "createdAt" FROM ${table} ORDER BY created_at`,
      )
    // A schema already up to date is only read, never touched by DDL: CREATE … IF NOT EXISTS still needs
    // the CREATE right, so without this a role granted only SELECT (a reader) could not open it at all.
    const [exists] = await tx.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
      table,
    ])
    let applied = exists?.found === true ? await readApplied() : undefined
    // A schema made ready by a DBA (`CREATE SCHEMA agent_comm AUTHORIZATION app`) is not created again:
    // even with IF NOT EXISTS, PostgreSQL asks for the CREATE right on the whole database first, which a
    // least-privilege role granted only its schema does not have.
    const schemaExists = applied !== undefined || (await schemaPresent(tx, name))
    if (applied === undefined) {
      if (!schemaExists) await tx.query(`CREATE SCHEMA ${quoted}`)
      await tx.query(
        `CREATE TABLE IF NOT EXISTS ${table} (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
      )
      applied = await readApplied()
    }
    const knownHashes = new Set(known.map((m) => m.hash))
    const latestKnown = known.at(-1)?.folderMillis ?? 0
    const newer = applied.filter((row) => !knownHashes.has(row.hash) && Number(row.createdAt) > latestKnown)
    if (newer.length > 0) {
      throw new SchemaVersionError(
        `The spool schema '${name}' in this PostgreSQL database is newer than this version of agent-comm understands (it has ${applied.length} migrations, this version knows ${known.length})`,
        {
          hint: 'Upgrade agent-comm to the version that wrote this database, or use another schema (the schema option).',
          details: { schema: name, applied: applied.length, known: known.length },
        },
      )
    }
    refuseEditedMigrations(name, folder, known, applied)
    const done = new Set(applied.map((row) => row.hash))
    let count = 0
    for (const migration of known) {
      if (done.has(migration.hash)) continue
      for (const statement of migration.sql) {
        if (statement.trim() === '' || isCreateSchema(statement)) continue
        await tx.query(forSchema(statement, quoted))
      }
      await tx.query(`INSERT INTO ${table} (hash, created_at) VALUES ($1, $2)`, [
        migration.hash,
        migration.folderMillis,
      ])
      count++
    }
    return { applied: count, current: known.length }
  })
}

type Migration = ReturnType<typeof readMigrationFiles>[number]

/**
 * Throws {@link SchemaVersionError} when a migration this version knows was applied from other SQL: the
 * database records its timestamp (drizzle-kit's `when`, unique per migration) under another hash, so the
 * file was edited after it ran. Re-applying it would run its DDL a second time over the tables it already
 * made (or, worse, succeed half way), so the database is refused instead.
 */
function refuseEditedMigrations(
  schema: string,
  folder: string,
  known: Migration[],
  applied: { hash: string; createdAt: number }[],
): void {
  const files = editedMigrationFiles(folder, known, applied)
  if (files.length === 0) return
  throw new SchemaVersionError(
    `The spool schema '${schema}' in this PostgreSQL database was migrated with a different version of ${files.join(', ')} than this version of agent-comm ships: the migration was edited after it was applied, and is not applied again`,
    {
      hint: 'Use the agent-comm version that migrated this schema (restore the migration file as it was released), or use another schema (the schema option).',
      details: { schema, edited: files },
    },
  )
}

/** Whether the schema named `name` exists (made by an earlier open, or by a DBA for this role). */
async function schemaPresent(tx: SqlQueryable, name: string): Promise<boolean> {
  const [row] = await tx.query<{ found: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found',
    [name],
  )
  return row?.found === true
}

/**
 * A generated `CREATE SCHEMA`: skipped, because the applier has made the schema (or found it made) before
 * the migrations run, and running it again would ask for the database-wide CREATE right.
 */
function isCreateSchema(statement: string): boolean {
  return /^\s*CREATE SCHEMA\b/i.test(statement)
}

/** A generated statement for the configured schema: `"agent_comm"` (always quoted by drizzle-kit) becomes the validated name. */
function forSchema(statement: string, quoted: string): string {
  return statement.replaceAll(`"${DEFAULT_SCHEMA}"`, quoted)
}
