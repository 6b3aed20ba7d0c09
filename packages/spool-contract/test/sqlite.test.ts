import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'
import { describeSpoolContract } from '../src/index.js'

// The SQLite store (the spool's embedded default) against the contract. Every case on a fresh SQLite file in its own temporary folder: a second spool on the same file is how
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
