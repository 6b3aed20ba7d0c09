import { randomBytes } from 'node:crypto'
import { type AgentCommError, type Logger, StorageError } from '@agent-comm/protocol'
import pg from 'pg'
import type { SqlClient } from './client.js'
import { redactUrl, toStorageError } from './drivers/driver-errors.js'
import { createNodePostgresClient } from './drivers/node-postgres.js'
import { type PgliteLike, wrapPglite } from './drivers/pglite.js'
import { openPostgresSpoolStore } from './open.js'
import type { ClaimCommit } from './statements.js'
import type { PostgresSpoolStore } from './store.js'

export { createPgliteClient, type PgliteClientOptions, type PgliteLike } from './drivers/pglite.js'

/** The server tests use when `AGENT_COMM_TEST_PG_URL` is not set. */
export const DEFAULT_TEST_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

/** Options of {@link createTestDatabase}. */
export interface TestDatabaseOptions {
  /** Prefix of the database name, after `agent_comm_t_` (lower-case letters, digits, `_`). */
  name?: string
  /** Where `AGENT_COMM_TEST_PG_URL` and `CI` are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>
  /** Told once (per logger), at warn level, when the tests fall back to PGlite. */
  logger?: Pick<Logger, 'warn'>
}

/** A database of one's own for one test file. */
export interface TestDatabase {
  /** `server`: a fresh database on a PostgreSQL server; `pglite`: an in-memory PGlite (no server found). */
  kind: 'server' | 'pglite'
  /** Connection URL of the fresh database (its password, if any, included), or `pglite://memory`. */
  url: string
  /** A client on the database (node-postgres on a server; the one PGlite connection otherwise). */
  client(): SqlClient
  /** For `pglite`: why there is no server, and that server-only tests are skipped. */
  reason?: string
  /** Ends every client made by `client()` and removes the database (`DROP DATABASE … WITH (FORCE)`). */
  drop(): Promise<void>
}

/** Loggers already told about the PGlite fallback: each is told once. */
const told = new WeakSet<object>()

function serverUrl(env: Readonly<Record<string, string | undefined>>): string {
  const url = env.AGENT_COMM_TEST_PG_URL
  return url === undefined || url === '' ? DEFAULT_TEST_PG_URL : url
}

async function probe(url: string): Promise<AgentCommError | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  client.on('error', () => undefined) // the failure is reported by connect() below
  try {
    await client.connect()
    await client.query('SELECT 1')
    return undefined
  } catch (error) {
    return toStorageError(error, url, 'connect')
  } finally {
    await client.end().catch(() => undefined) // nothing to close after a failed connect
  }
}

/**
 * Whether the test PostgreSQL server (`AGENT_COMM_TEST_PG_URL`, default {@link DEFAULT_TEST_PG_URL})
 * answers: for `describe.skipIf(!(await pgServerAvailable()))` around server-only tests (several
 * processes, a server restart) that PGlite cannot stand in for.
 */
export async function pgServerAvailable(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<boolean> {
  return (await probe(serverUrl(env))) === undefined
}

/**
 * Creates a uniquely named database (`agent_comm_t_<name>_<random>`) on the test server for one test file.
 * With no server answering: under `CI=true` it throws (a missing server fails CI rather than skipping
 * tests); elsewhere it returns an in-memory PGlite database with a `reason` saying that server-only tests
 * are skipped, also told once to `logger`. PGlite needs `@electric-sql/pglite` installed.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const env = options.env ?? process.env
  const adminUrl = serverUrl(env)
  const reason = await noServerReason(adminUrl, env)
  if (reason === undefined) return serverDatabase(adminUrl, options.name)
  if (options.logger !== undefined && !told.has(options.logger)) {
    told.add(options.logger)
    options.logger.warn({ server: redactUrl(adminUrl) }, reason)
  }
  return pgliteDatabase(reason)
}

/**
 * For test files that need a server and have no PGlite stand-in: true when the test server answers; under
 * `CI=true` without one it throws (CI must not skip them); otherwise false, after telling `logger` (e.g.
 * {@link reportSkipped}) that they are skipped and why.
 */
export async function serverTestsCanRun(
  logger: Pick<Logger, 'warn'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<boolean> {
  const adminUrl = serverUrl(env)
  const reason = await noServerReason(adminUrl, env)
  if (reason === undefined) return true
  logger.warn({ server: redactUrl(adminUrl) }, reason)
  return false
}

/** Undefined when the server answers; the reason the tests fall back otherwise. Throws under `CI=true`. */
async function noServerReason(
  adminUrl: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string | undefined> {
  const failure = await probe(adminUrl)
  if (failure === undefined) return undefined
  if (env.CI === 'true') {
    throw new StorageError(
      `No PostgreSQL server for the tests at ${redactUrl(adminUrl)}: ${failure.message}`,
      {
        hint: 'In CI the PostgreSQL tests need a server: start it (see .ci/run) or set AGENT_COMM_TEST_PG_URL.',
        details: { ...failure.details },
        cause: failure,
      },
    )
  }
  return (
    `No PostgreSQL server at ${redactUrl(adminUrl)} (${String(failure.details.reason)}): the tests run on ` +
    'PGlite and the server-only tests (several processes, restarts) are skipped. Start PostgreSQL or set ' +
    'AGENT_COMM_TEST_PG_URL to run them.'
  )
}

async function serverDatabase(adminUrl: string, name: string | undefined): Promise<TestDatabase> {
  const prefix =
    name === undefined
      ? ''
      : `${name
          .toLowerCase()
          .replace(/[^a-z0-9_]/g, '_')
          .slice(0, 30)}_`
  const database = `agent_comm_t_${prefix}${randomBytes(6).toString('hex')}`
  await admin(adminUrl, `CREATE DATABASE "${database}"`)
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  const dbUrl = url.toString()
  return {
    kind: 'server',
    url: dbUrl,
    ...clientsEndedOnDrop(
      () => createNodePostgresClient({ url: dbUrl }),
      // FORCE ends the connections a test left open (a child process, a client it forgot to end).
      () => admin(adminUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`),
    ),
  }
}

/** `client()` and `drop()` of a test database: the first `drop()` ends every client made, then `release`s. */
function clientsEndedOnDrop(
  make: () => SqlClient,
  release: () => Promise<void>,
): Pick<TestDatabase, 'client' | 'drop'> {
  const clients: SqlClient[] = []
  let dropped = false
  return {
    client() {
      const client = make()
      clients.push(client)
      return client
    },
    async drop() {
      if (dropped) return
      dropped = true
      await Promise.all(clients.map((c) => c.end()))
      await release()
    },
  }
}

async function admin(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 30_000 })
  client.on('error', () => undefined) // failures surface through connect()/query() below
  try {
    await client.connect()
    await client.query(statement)
  } catch (error) {
    throw toStorageError(error, adminUrl, statement.split(' ', 2).join(' '))
  } finally {
    await client.end().catch(() => undefined) // the statement's outcome is what matters
  }
}

async function pgliteDatabase(reason: string): Promise<TestDatabase> {
  let PGlite: typeof import('@electric-sql/pglite').PGlite
  try {
    ;({ PGlite } = await import('@electric-sql/pglite'))
  } catch (error) {
    throw new StorageError(`${reason} But PGlite is not installed either.`, {
      hint: 'Install it as a dev dependency (pnpm add -D @electric-sql/pglite) or start PostgreSQL.',
      details: { reason: 'unreachable' },
      cause: error,
    })
  }
  const instance = (await PGlite.create()) as unknown as PgliteLike
  return {
    kind: 'pglite',
    url: 'pglite://memory',
    reason,
    ...clientsEndedOnDrop(
      () => wrapPglite(instance, false),
      () => instance.close(),
    ),
  }
}

/** Options of {@link openTestStore}. */
export interface TestStoreOptions {
  /** The store's schema (default `agent_comm`); a fresh one per test keeps tests apart in one database. */
  schema?: string
  /** Pool size on a server (ignored on PGlite, a single connection). */
  poolSize?: number
  logger?: Logger
  /** How claims and acks commit (default `durable`). */
  claimCommit?: ClaimCommit
}

/**
 * Opens a {@link PostgresSpoolStore} on a test database: by its URL on a server (the store owns its pool),
 * on a new client of the one PGlite instance otherwise (ended by `drop()`). Opening twice with the same
 * schema gives two stores on the same data, as two processes would have.
 */
export function openTestStore(db: TestDatabase, options: TestStoreOptions = {}): Promise<PostgresSpoolStore> {
  const common = {
    schema: options.schema,
    logger: options.logger,
    claimCommit: options.claimCommit,
  }
  if (db.kind === 'server') {
    return openPostgresSpoolStore({
      url: db.url,
      poolSize: options.poolSize,
      ...common,
    })
  }
  return openPostgresSpoolStore({ client: db.client(), location: db.url, ...common })
}

/**
 * A `logger` for {@link createTestDatabase} that tells a test run, on stderr, that `what` (the tests that
 * need a real server) are skipped because the tests fell back to PGlite, and why.
 */
export function reportSkipped(what: string): Pick<Logger, 'warn'> {
  return {
    warn(_fields, message) {
      process.stderr.write(`Skipped on PGlite: ${what}. ${message}\n`)
    },
  }
}

/** A row {@link recordCommitSettings} recorded: a delivery's new status and the setting in force. */
export type RecordedCommitSetting = {
  status: string
  setting: string
}

/**
 * For tests of how claims and acks commit: a trigger on `schema`'s deliveries records, for each row a
 * statement updates (and inserts, with `inserts: true`), the new status and the `synchronous_commit` in
 * force while that statement runs. Returns a reader of what was recorded, in order.
 */
export async function recordCommitSettings(
  client: SqlClient,
  schema: string,
  options: { inserts?: boolean } = {},
): Promise<() => Promise<RecordedCommitSetting[]>> {
  const s = `"${schema}"`
  await client.query(`CREATE TABLE ${s}.seen (n serial, status text, setting text)`)
  await client.query(
    `CREATE FUNCTION ${s}.record_setting() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN INSERT INTO ${s}.seen (status, setting) VALUES (NEW.status, current_setting('synchronous_commit'));
     RETURN NEW; END $$`,
  )
  await client.query(
    `CREATE TRIGGER record_setting BEFORE ${options.inserts === true ? 'INSERT OR UPDATE' : 'UPDATE'}
     ON ${s}.deliveries FOR EACH ROW EXECUTE FUNCTION ${s}.record_setting()`,
  )
  return () => client.query<RecordedCommitSetting>(`SELECT status, setting FROM ${s}.seen ORDER BY n`)
}
