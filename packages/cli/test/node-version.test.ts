import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BIN, cleanEnv, tempDir } from './helpers.js'

// The machine's own Node, if it is an old one: every executable must refuse it with a message instead of
// crashing in better-sqlite3 (a segmentation fault) when it opens a database.
const SYSTEM_NODE = '/usr/bin/node'

function systemNodeMajor(): number | undefined {
  if (!existsSync(SYSTEM_NODE)) return undefined
  const run = spawnSync(SYSTEM_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' })
  return run.status === 0 ? Number.parseInt(run.stdout, 10) : undefined
}

const major = systemNodeMajor()
const reason =
  major === undefined
    ? `no ${SYSTEM_NODE} on this machine`
    : major >= 22
      ? `${SYSTEM_NODE} is Node ${major}, not an unsupported one`
      : undefined

const BINS = {
  'agent-comm': BIN,
  'agent-comm-mcp': fileURLToPath(new URL('../../mcp/bin/agent-comm-mcp.js', import.meta.url)),
  'agent-comm-relay': fileURLToPath(new URL('../../../apps/relay/dist/bin.js', import.meta.url)),
}

describe.skipIf(reason !== undefined)(`an unsupported Node (${reason ?? SYSTEM_NODE})`, () => {
  it('is refused by every executable with what to install, before a database is opened', () => {
    const dir = tempDir()
    for (const [name, bin] of Object.entries(BINS)) {
      const run = spawnSync(SYSTEM_NODE, [bin, ...(name === 'agent-comm' ? ['agents', '--create'] : [])], {
        cwd: dir,
        env: cleanEnv({ AGENT_COMM_DB_PATH: `${dir}/${name}.db` }),
        encoding: 'utf8',
        timeout: 30_000,
      })
      expect(run.signal, name).toBeNull()
      expect(run.status, `${name}: ${run.stderr}`).toBe(1)
      expect(run.stderr).toContain(`${name} needs Node.js 22.19.0 or newer`)
      expect(existsSync(`${dir}/${name}.db`)).toBe(false)
    }
  })
})
