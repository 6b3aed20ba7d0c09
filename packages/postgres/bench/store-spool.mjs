// Opening the real PostgreSQL store behind a Spool for the benchmarks: node-postgres with prepared
// statements (the measured default), migrated into the given database.
import { Spool } from '@agent-comm/spool'
import { createNodePostgresClient, openPostgresSpoolStore } from '../dist/index.js'

/** A Spool over the PostgreSQL store in the database at `url` (created tables, prepared statements; `claimCommit` passed on). */
export async function openStoreSpool(url, { poolSize = 2, claimCommit } = {}) {
  const client = createNodePostgresClient({ url, poolSize, prepare: true })
  const store = await openPostgresSpoolStore({
    client,
    location: 'bench',
    ...(claimCommit ? { claimCommit } : {}),
  })
  const spool = await Spool.open({ store })
  return {
    spool,
    async close() {
      await spool.close()
      await client.end()
    },
  }
}
