import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeSpoolContract } from '@agent-comm/spool-contract'
import { Spool } from '../src/index.js'

// Every case on a fresh SQLite file in its own temporary folder: a second spool on the same file is how
// the contract checks what several processes sharing one spool see.
describeSpoolContract('sqlite', {
  async open(options) {
    const dir = mkdtempSync(join(tmpdir(), 'agent-comm-spool-contract-'))
    const path = join(dir, 'coordination.db')
    const spool = await Spool.open({ ...options, path })
    return {
      spool,
      openAnother: (more) => Spool.open({ ...more, path }),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    }
  },
})
