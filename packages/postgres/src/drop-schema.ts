import { ValidationError } from '@agent-comm/protocol'
import { connectFromUrl } from './connect.js'
import { toStorageError } from './drivers/driver-errors.js'
import { validateSchemaName } from './migrate.js'

/**
 * Drops `schema` and everything in it (`DROP SCHEMA … CASCADE`) from the database at `url`: for a
 * throwaway schema such as `agent-comm demo` makes on a PostgreSQL URL. The name is validated first, and
 * the default schema (and `public`) is refused with `ValidationError`, so a slip cannot drop a team's
 * messages; a system schema (`pg_*`, `information_schema`) or a malformed URL is a `ConfigError`. Throws
 * `StorageError` when the server cannot be reached.
 */
export async function dropPostgresSchema(options: {
  url: string
  schema: string
  /**
   * The caller created this schema itself moments ago and drops it because what it was made for failed
   * (a copy into a new database): then even the default schema name is dropped (never `public`).
   */
  createdByCaller?: boolean | undefined
}): Promise<void> {
  const schema = validateSchemaName(options.schema)
  if (schema === 'public' || (schema === 'agent_comm' && options.createdByCaller !== true)) {
    throw new ValidationError(`Refusing to drop the schema '${schema}': it is not a throwaway schema`, [
      { path: 'schema', message: 'must not be agent_comm or public' },
    ])
  }
  const { client } = connectFromUrl({ url: options.url, poolSize: 1 })
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } catch (error) {
    throw toStorageError(error, options.url)
  } finally {
    await client.end()
  }
}
