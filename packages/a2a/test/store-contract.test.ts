import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import { describe, it } from 'vitest'
import { SqliteA2AStore } from '../src/index.js'
import { a2aStoreChecks } from '../src/testing.js'

const { onCleanup, tempDir } = testCleanups('agent-comm-a2a-test-')

describe('the SQLite A2A store', () => {
  const open = async () => {
    const dir = tempDir('agent-comm-a2a-store-')
    const spool = await Spool.open({ path: join(dir, 'relay.db') })
    onCleanup(() => spool.close())
    return spool.openShared(SqliteA2AStore.shared())
  }
  for (const check of a2aStoreChecks(open)) it(check.name, check.run)
})
