import { randomBytes } from 'node:crypto'
import { Spool } from '@agent-comm/spool'
import { describeSpoolContract, type SpoolContractOptions } from '@agent-comm/spool-contract'
import { afterAll } from 'vitest'
import { openPostgresSpoolStore } from '../src/index.js'
import { createTestDatabase } from '../src/testing.js'

// The spool contract on PostgreSQL: one database for this file (a server's, or an in-memory PGlite when no
// server answers outside CI), and a fresh schema per case, dropped after it, so cases are isolated and
// cheap. A second spool of a case opens its own store on the same URL and schema (on PGlite: on the same
// client, which no store owns), as a second process would.
const database = await createTestDatabase({ name: 'contract', logger: { warn: testLog } })
const admin = database.client()
afterAll(() => database.drop())

function testLog(_fields: unknown, message: string): void {
  // The reason server-only tests are skipped, in the test output (a test file, not a library).
  process.stderr.write(`[contract] ${message}\n`)
}

async function openOn(schema: string, options: SpoolContractOptions): Promise<Spool> {
  const store =
    database.kind === 'server'
      ? await openPostgresSpoolStore({ url: database.url, schema, poolSize: 4 })
      : await openPostgresSpoolStore({ client: admin, schema, location: database.url })
  return Spool.open({ ...options, store })
}

describeSpoolContract(`postgres (${database.kind})`, {
  async open(options) {
    const schema = `c_${randomBytes(6).toString('hex')}`
    const spool = await openOn(schema, options)
    return {
      spool,
      openAnother: (more) => openOn(schema, more),
      dispose: async () => {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      },
    }
  },
})
