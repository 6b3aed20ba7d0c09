import { connectFromUrl } from './connect.js'
import { toStorageError } from './drivers/driver-errors.js'

/**
 * Which database a PostgreSQL URL reaches, as the server itself names it: its cluster's system identifier
 * (`pg_control_system()`, fixed when the cluster was created, executable by any role) and the database's
 * name. Two URLs that reach the same database give the same identity whatever they wrote for the host
 * (`localhost`, `127.0.0.1`, a socket folder, another name of the machine): what `agent-comm db copy`
 * compares to refuse a copy onto itself. Throws `StorageError` when the server cannot be reached.
 */
export async function postgresDatabaseIdentity(url: string): Promise<string> {
  const { client } = connectFromUrl({ url, poolSize: 1 })
  try {
    const rows = await client.query<{ server: string; database: string }>(
      'SELECT system_identifier::text AS server, current_database() AS database FROM pg_control_system()',
    )
    const row = rows[0]
    if (row === undefined) throw new Error('pg_control_system() returned no row')
    return `${row.server}/${row.database}`
  } catch (error) {
    throw toStorageError(error, url)
  } finally {
    await client.end()
  }
}
