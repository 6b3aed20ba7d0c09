import { afterAll, describe, expect, it } from 'vitest'
import { createPgliteClient } from '../src/drivers/pglite.js'
import { sqlClientSuite } from './sql-client-suite.js'

sqlClientSuite('PGlite', {
  server: false,
  async open() {
    const client = await createPgliteClient()
    return {
      client,
      other: client,
      close: () => client.end(),
    }
  },
})

describe('PGlite adapter', () => {
  const opened = createPgliteClient()
  afterAll(async () => (await opened).end())

  it('runs a query issued during a transaction after that transaction, as one connection must', async () => {
    const client = await opened
    await client.query('CREATE TABLE turns (n int)')
    const order: string[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const tx = client.transaction(async (t) => {
      await t.query('INSERT INTO turns VALUES (1)')
      order.push('tx inserted')
      await gate
      order.push('tx done')
    })
    const outside = client.query<{ n: number }>('SELECT count(*) AS n FROM turns').then((rows) => {
      order.push('outside read')
      return rows[0]?.n
    })
    release()
    await tx
    expect(await outside).toBe(1)
    expect(order).toEqual(['tx inserted', 'tx done', 'outside read'])
  })
})
