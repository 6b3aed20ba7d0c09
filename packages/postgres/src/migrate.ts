import { AgentCommError, SchemaVersionError } from '@agent-comm/protocol'
import { editedMigrationFiles } from '@agent-comm/spool/store'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import type { SqlClient, SqlQueryable } from './client.js'
import {
  DEFAULT_SCHEMA,
  migrationsTableOf,
  newerSchemaError,
  olderSchemaError,
  POSTGRES_MIGRATIONS_FOLDER,
  SCHEMA_SETTINGS,
  tableExists,
  validateSchemaName,
} from './schema-check.js'

// Their home is schema-check.ts (free of drizzle-orm, for the inbox hook); exported here as before.
export {
  assertPostgresDatabaseExists,
  POSTGRES_MIGRATIONS_FOLDER,
  validateSchemaName,
} from './schema-check.js'

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
export async function applyPostgresMigrations(
  client: SqlClient,
  schema: string,
  folder: string = POSTGRES_MIGRATIONS_FOLDER,
): Promise<PostgresMigrationResult> {
  const name = validateSchemaName(schema)
  const quoted = `"${name}"`
  const known = readMigrationFiles({ migrationsFolder: folder })
  const table = migrationsTableOf(name)
  return client.transaction(
    async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`agent_comm.migrate.${name}`])
      const readApplied = () =>
        tx.query<{ hash: string; createdAt: number }>(
          `SELECT hash, created_at AS "createdAt" FROM ${table} ORDER BY created_at`,
        )
      // A schema already up to date is only read, never touched by DDL: CREATE … IF NOT EXISTS still needs
      // the CREATE right, so without this a role granted only SELECT (a reader) could not open it at all.
      let applied = (await tableExists(tx, table)) ? await readApplied() : undefined
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
      if (newer.length > 0) throw newerSchemaError(name, applied.length, known.length)
      refuseEditedMigrations(name, folder, known, applied)
      const done = new Set(applied.map((row) => row.hash))
      const pending = known.filter((migration) => !done.has(migration.hash))
      try {
        for (const migration of pending) {
          for (const statement of migration.sql) {
            if (statement.trim() === '' || isCreateSchema(statement)) continue
            await tx.query(forSchema(statement, quoted))
          }
          await tx.query(`INSERT INTO ${table} (hash, created_at) VALUES ($1, $2)`, [
            migration.hash,
            migration.folderMillis,
          ])
        }
      } catch (error) {
        // A schema an older version made, opened after an upgrade by a role that may use its tables but not
        // change them: say that it needs upgrading, and by whom, rather than only "permission denied".
        if (applied.length > 0 && isPermissionDenied(error))
          throw olderSchemaError(name, pending.length, known.length, error)
        throw error
      }
      return { applied: pending.length, current: known.length }
      // An index built on a large table takes as long as it takes, and the processes opening the database
      // meanwhile wait on the lock: neither is a server that stopped answering.
    },
    { unbounded: true },
  )
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
      hint: `Use the agent-comm version that migrated this schema (restore the migration file as it was released), or use another schema (${SCHEMA_SETTINGS}).`,
      details: { schema, edited: files },
    },
  )
}

/** A refusal of a statement for want of a privilege (SQLSTATE 42501), as the drivers' error mapping reports it. */
function isPermissionDenied(error: unknown): boolean {
  return error instanceof AgentCommError && error.details.reason === 'permission-denied'
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
