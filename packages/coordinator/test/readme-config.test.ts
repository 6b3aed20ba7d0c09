// Every variable loadConfig reads is documented where users of it look: the coordinator's README
// (loadConfig's row) and the MCP server's environment table (the CLI's table has a test of its own).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CONFIG_VARIABLES, loadConfig } from '../src/index.js'

const readmeOf = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8')

describe('the variables loadConfig reads', () => {
  it.each([
    ['packages/coordinator/README.md', '../README.md'],
    ['packages/mcp/README.md', '../../mcp/README.md'],
  ])('are each named in %s', (_name, path) => {
    const readme = readmeOf(path)
    expect(Object.keys(CONFIG_VARIABLES).filter((name) => !readme.includes(`\`${name}\``))).toEqual([])
  })

  it('are the ones it reads: an invalid value of each is refused, naming it', () => {
    for (const name of Object.keys(CONFIG_VARIABLES)) {
      if (['AGENT_COMM_PROJECT_ROOT', 'AGENT_COMM_DB_PATH', 'AGENT_COMM_DB_PATH_FILE'].includes(name))
        continue
      expect(() => loadConfig({ [name]: '-1 not valid' }), name).toThrow(name)
    }
  })
})
