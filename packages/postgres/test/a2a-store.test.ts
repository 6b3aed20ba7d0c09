import { A2ASigningKeys } from '@agent-comm/a2a'
import { a2aStoreChecks } from '@agent-comm/a2a/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PostgresA2AStore } from '../src/a2a.js'
import { openPostgresRelayStores, RelaySecretsKey } from '../src/index.js'
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
  it('seals the push-signing key under the relay secrets key, re-sealed when that key is rotated', async () => {
    const schema = `a2a_${++schemas}`
    const key = RelaySecretsKey.generate()
    const clock = { now: () => 1_000_000 }
    const store = await PostgresA2AStore.open({ client: db!.client(), schema })
    const running = await A2ASigningKeys.open({ store, sealer: key, clock })
    const kid = await running.currentKid()
    const stores = await openPostgresRelayStores({ url: db!.url, schema, key })
    const next = RelaySecretsKey.generate()
    try {
      await stores.secrets.rotateKey(next)
    } finally {
      await stores.close()
    }
    expect(await (await A2ASigningKeys.open({ store, sealer: next, clock })).currentKid()).toBe(kid)
    // A replica still running with the old key goes on signing with the key it holds.
    clock.now = () => 2_000_000
    await expect(running.sign({ body: '{}', taskId: 't', audience: 'https://hook.test/' })).resolves.toMatch(
      /\./,
    )
    await expect(A2ASigningKeys.open({ store, sealer: key, clock })).rejects.toMatchObject({ code: 'CONFIG' })
  })
})
