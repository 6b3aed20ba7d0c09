import { a2aStoreChecks } from '@agent-comm/a2a/testing'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { PostgresA2AStore } from '../src/a2a.js'
import { createTestDatabase, type TestDatabase } from '../src/testing.js'

let db: TestDatabase | undefined
let schemas = 0
beforeAll(async () => {
  db = await createTestDatabase({ name: 'a2a_store' })
})
afterAll(async () => {
  await db?.drop()
})

describe('the PostgreSQL A2A store', () => {
  // A schema of its own per check, in the file's database.
  const open = () => PostgresA2AStore.open({ client: db!.client(), schema: `a2a_${++schemas}` })
  for (const check of a2aStoreChecks(open)) it(check.name, check.run)

  it('creates its tables once when two openers race', async () => {
    const schema = `a2a_${++schemas}`
    await Promise.all([
      PostgresA2AStore.open({ client: db!.client(), schema }),
      PostgresA2AStore.open({ client: db!.client(), schema }),
    ])
  })
})
