import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BIN, tempDir } from './helpers.js'

const RECORDER = pathToFileURL(fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url))).href

describe('agent-comm-mcp start-up', () => {
  it('loads the MCP SDK from its bundle, and neither the coordinator nor drizzle before a client asks', () => {
    const record = join(tempDir(), 'modules.txt')
    // --version loads everything a stdio start loads before it answers initialize, then stops.
    const run = spawnSync(process.execPath, [BIN, '--version'], {
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: `--import=${RECORDER}`, RECORD_MODULES_TO: record },
      encoding: 'utf8',
    })
    expect(run.status, run.stderr).toBe(0)
    const files = readFileSync(record, 'utf8')
      .split('\n')
      .filter((url) => url.startsWith('file:'))
      .map((url) => fileURLToPath(url))
    expect(files.some((f) => f.endsWith(join('dist', 'main.bundle.js')))).toBe(true)
    // One bundled file instead of ~140 small ones: the SDK, ajv and zod-to-json-schema are in it.
    for (const name of [
      '@modelcontextprotocol',
      'ajv',
      'zod-to-json-schema',
      'drizzle-orm',
      'better-sqlite3',
    ]) {
      expect(
        files.filter((f) => f.split(sep).join('/').includes(`/node_modules/${name}/`)),
        name,
      ).toEqual([])
    }
    expect(files.filter((f) => f.includes(join('coordinator', 'dist')))).toEqual([])
  })
})
