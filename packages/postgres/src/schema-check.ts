// What a store checks about the schema before it reads or writes, kept free of drizzle-orm and zod so the
// inbox hook (`unclaimed-mail.ts`, run on every prompt of an assistant) loads it cheaply: the schema name
// rule, the migrations' folder and bookkeeping table, and the checks that a schema holds an agent-comm
// database this version understands.
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, errorMessage, SchemaVersionError, StorageError } from '@agent-comm/protocol/errors'
import type { SqlQueryable } from './client.js'

/**
 * The schema name the migrations in `drizzle/` are generated for. The migration applier writes the
 * configured name in its place (see `migrate.ts`), so one database can hold several spools side by side.
 */
export const DEFAULT_SCHEMA = 'agent_comm'

/** Folder of this package's drizzle-kit migrations (shipped beside `dist/`). */
export const POSTGRES_MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../drizzle')

/** The table, inside the spool's schema, that records applied migrations (drizzle's shape). */
export const MIGRATIONS_TABLE = '__agent_comm_spool_migrations'

/** The migrations table of `schema`, schema-qualified for a statement; the name is checked first. */
export function migrationsTableOf(schema: string): string {
  return `"${validateSchemaName(schema)}".${MIGRATIONS_TABLE}`
}

/** Whether `table` (schema-qualified, as a statement names it) exists: one catalogue lookup, no table read. */
export async function tableExists(db: SqlQueryable, table: string): Promise<boolean> {
  const [row] = await db.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [table])
  return row?.found === true
}

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

/**
 * Throws a `StorageError` (`details.reason` `'missing'`) when `schema` holds no agent-comm database (no
 * migrations table): for callers that may not create one, so a mistyped schema name is never a new,
 * empty database. Reads only.
 */
export async function assertPostgresDatabaseExists(
  client: SqlQueryable,
  schema: string,
  location: string,
): Promise<void> {
  const name = validateSchemaName(schema)
  if (await tableExists(client, migrationsTableOf(name))) return
  throw new StorageError(`No agent-comm database in schema "${name}" at ${location}`, {
    hint: 'Check the schema name and the URL (a typo opens nothing); open it with create: true to start a new database there.',
    details: { reason: 'missing', schema: name, server: location },
  })
}

/**
 * Throws `SchemaVersionError` when `schema` records a migration newer than every one in `folder`: a
 * newer agent-comm wrote it, and its tables are not read with a schema this version does not understand.
 * One small query; the applier (`applyPostgresMigrations`) makes the same check with every file's hash.
 */
export async function assertSchemaNotNewer(
  db: SqlQueryable,
  schema: string,
  folder: string = POSTGRES_MIGRATIONS_FOLDER,
): Promise<void> {
  const [row] = await db.query<{ newest: number | null; applied: number }>(
    `SELECT max(created_at) AS newest, count(*)::int AS applied FROM ${migrationsTableOf(schema)}`,
  )
  const known = newestKnownMigrations(folder)
  if (row === undefined || row.newest === null || Number(row.newest) <= known.newest) return
  throw newerSchemaError(schema, row.applied, known.count)
}

/** Where a user names agent-comm's schema, for hints that ask for another one. */
export const SCHEMA_SETTINGS =
  'AGENT_COMM_PG_SCHEMA for the CLI and the MCP server, --db-schema (AGENT_COMM_RELAY_PG_SCHEMA) for the relay, the schema option in code'

/** The `SchemaVersionError` for `schema`, which records `applied` migrations, some newer than the `known`. */
export function newerSchemaError(schema: string, applied: number, known: number): SchemaVersionError {
  return new SchemaVersionError(
    `The spool schema '${schema}' in this PostgreSQL database is newer than this version of agent-comm understands (it has ${applied} migrations, this version knows ${known})`,
    {
      hint: `Upgrade agent-comm to the version that wrote this schema (an older version cannot go back to it: restore a copy taken before the upgrade to use this one), or use another schema (${SCHEMA_SETTINGS}).`,
      details: { schema, applied, known },
    },
  )
}

/**
 * The `SchemaVersionError` for `schema`, made by an older version (it lacks `missing` of the `known`
 * migrations), which this user may not upgrade: `cause` is the refused statement's error.
 */
export function olderSchemaError(
  schema: string,
  missing: number,
  known: number,
  cause: unknown,
): SchemaVersionError {
  return new SchemaVersionError(
    `The spool schema '${schema}' in this PostgreSQL database is older than this version of agent-comm (it lacks ${missing} of ${known} migrations), and this user may not upgrade it (${errorMessage(cause)})`,
    {
      hint: "Run any agent-comm command of this version once as the schema's owner (the user that created its tables): the upgrade is then done for every user. Let this user use the tables it adds, e.g. before it: ALTER DEFAULT PRIVILEGES IN SCHEMA <schema> GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO <user>. Or use the agent-comm version that wrote the schema.",
      details: { schema, missing, known, reason: 'permission-denied' },
      cause,
    },
  )
}

/** The journal time (`when`) of the newest migration in `folder`, and how many it holds. */
function newestKnownMigrations(folder: string): { newest: number; count: number } {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { when: number }[]
  }
  return {
    newest: Math.max(0, ...journal.entries.map((entry) => entry.when)),
    count: journal.entries.length,
  }
}
