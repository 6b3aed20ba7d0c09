import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const built = pathToFileURL(join(fileURLToPath(new URL('..', import.meta.url)), 'dist/index.js')).href

describe('a PostgreSQL URL as the spool path', () => {
  it('asks to install @agent-comm/postgres when it is not installed, naming the path option', async () => {
    // A real Node process on the built spool, in a folder without node_modules: this package does not
    // depend on @agent-comm/postgres (it depends on the spool), so neither lookup finds it. (Inside vitest,
    // vite's resolver would find the workspace package; and the child gets a bare environment, since the
    // test runner's own variables let Node find it too.)
    const dir = mkdtempSync(join(tmpdir(), 'agent-comm-spool-url-'))
    try {
      const script = `
        const { Spool } = await import(${JSON.stringify(built)})
        const out = []
        for (const path of ['postgres://agents@127.0.0.1:1/agents', 'postgresql://agents@127.0.0.1:1/agents']) {
          try { await Spool.open({ path }); out.push('opened') }
          catch (e) { out.push({ code: e.code, hint: e.hint, issues: e.issues }) }
        }
        console.log(JSON.stringify(out))`
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
      })
      const expected = {
        code: 'VALIDATION',
        hint: 'npm install @agent-comm/postgres',
        issues: [{ path: 'path', message: 'is a PostgreSQL URL: install @agent-comm/postgres' }],
      }
      expect(JSON.parse(stdout)).toEqual([expected, expected])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
