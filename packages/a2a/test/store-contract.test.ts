import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Spool, sqliteConnection } from '@agent-comm/spool'
import { afterEach, describe, it } from 'vitest'
import { SqliteA2AStore } from '../src/index.js'
import { a2aStoreChecks } from '../src/testing.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('the SQLite A2A store', () => {
  const open = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-comm-a2a-store-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const spool = await Spool.open({ path: join(dir, 'relay.db') })
    cleanups.push(() => spool.close())
    return SqliteA2AStore.open(sqliteConnection(spool))
  }
  for (const check of a2aStoreChecks(open)) it(check.name, check.run)
})
