import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Logger } from '@agent-comm/protocol'
import { ValidationError } from '@agent-comm/protocol'
import type { DatabaseFileOptions } from './sqlite/database.js'
import type { SpoolStore } from './store.js'

/** Whether a spool `path` is a PostgreSQL URL (`postgres://` or `postgresql://`) rather than a file. */
export function isPostgresUrl(path: string): boolean {
  return /^postgres(ql)?:\/\//i.test(path)
}

/**
 * Throws `ValidationError` when a SQLite-file option that changes what opening does is given with a
 * PostgreSQL URL, since ignoring it would surprise: `readonly: true` (on a server, the URL's role decides: a
 * role with only SELECT reads, and its writes are refused by the server) and `allowForeignTables: true` (a
 * file-level check a schema of its own makes moot). `create: false`
 * is accepted: the migrations create the schema on the server, there is no file to be missing.
 */
export function refuseSqliteFileOptions(options: DatabaseFileOptions): void {
  if (options.readonly === true) {
    throw new ValidationError(
      'Read-only opening (readonly: true) is an option of a SQLite file, not of a PostgreSQL URL',
      [{ path: 'readonly', message: 'applies to a SQLite file only' }],
      {
        hint: "Leave readonly out. On PostgreSQL the URL's role decides what may be done: a role with only SELECT on its schema's tables reads (stats, inbox, status), and one with rights on the tables but no CREATE works fully once the schema is migrated.",
      },
    )
  }
  if (options.allowForeignTables === true) {
    throw new ValidationError(
      "allowForeignTables is an option of a SQLite file, not of a PostgreSQL URL: agent-comm's tables live in a schema of their own",
      [{ path: 'allowForeignTables', message: 'applies to a SQLite file only' }],
      {
        hint: "Leave it out; choose the schema agent-comm uses instead (AGENT_COMM_PG_SCHEMA, or openPostgres's schema).",
      },
    )
  }
}

/** What the spool uses of `@agent-comm/postgres`; typed here so the spool has no dependency on it. */
interface PostgresModule {
  openPostgresSpoolStore(options: { url: string; logger?: Logger }): Promise<SpoolStore>
}

const PACKAGE = '@agent-comm/postgres'

/**
 * Opens the PostgreSQL spool store for `Spool.open({ path: 'postgres://…' })`. `@agent-comm/postgres` is an
 * optional companion, not a dependency (it depends on this package): it is imported from where the spool
 * is installed, else from the current folder's `node_modules`. Throws `ValidationError` with the install
 * command when it is in neither.
 */
export async function openPostgresStoreFromUrl(url: string, logger?: Logger): Promise<SpoolStore> {
  const module = await loadPostgresModule()
  return module.openPostgresSpoolStore({ url, logger })
}

async function loadPostgresModule(): Promise<PostgresModule> {
  try {
    return (await import(PACKAGE)) as PostgresModule
  } catch (error) {
    if (!isNotFound(error)) throw error
  }
  let resolved: string
  try {
    resolved = createRequire(join(process.cwd(), 'package.json')).resolve(PACKAGE)
  } catch (error) {
    throw new ValidationError(
      `A PostgreSQL URL needs the package ${PACKAGE}, which is not installed`,
      [{ path: 'path', message: `is a PostgreSQL URL: install ${PACKAGE}` }],
      { hint: `npm install ${PACKAGE}`, cause: error },
    )
  }
  return (await import(pathToFileURL(resolved).href)) as PostgresModule
}

/** The package itself is missing (not one of its own imports: that error is rethrown as it is). */
function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
  return missing && error instanceof Error && error.message.includes(`'${PACKAGE}'`)
}
