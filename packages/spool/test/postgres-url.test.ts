import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { ValidationError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { Spool } from '../src/index.js'

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

  it('refuses readonly: true with a URL, saying it is a SQLite-file option and that the role decides instead', async () => {
    // Refused before anything is loaded or connected: the port is closed and nothing listens there.
    const opening = Spool.open({ path: 'postgres://agents@127.0.0.1:1/agents', readonly: true })
    await expect(opening).rejects.toBeInstanceOf(ValidationError)
    await expect(opening).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/read-only.*SQLite file/i),
      hint: expect.stringMatching(/role decides/),
      issues: [{ path: 'readonly', message: 'applies to a SQLite file only' }],
    })
  })

  it('refuses allowForeignTables: true with a URL instead of ignoring it', async () => {
    const opening = Spool.open({ path: 'postgresql://agents@127.0.0.1:1/agents', allowForeignTables: true })
    await expect(opening).rejects.toMatchObject({
      code: 'VALIDATION',
      issues: [{ path: 'allowForeignTables', message: 'applies to a SQLite file only' }],
    })
  })
})
