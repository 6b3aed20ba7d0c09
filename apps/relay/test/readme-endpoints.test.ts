// The READMEs name the relay's endpoints as its OpenAPI document has them: every endpoint in the Endpoints
// table exists, and every endpoint the relay serves is described — in the relay's README, or for the human
// console's own API in the console package's README.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { startTestRelay } from './helpers.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const consoleReadme = readFileSync(new URL('../../../packages/console/README.md', import.meta.url), 'utf8')

/** `GET /api/v1/agents/{agentId}` → `GET /agents/{}`: the prefix left out and parameters unnamed. */
function normalise(method: string, path: string): string {
  const bare = path.replace(/^\/api\/v1(?=\/)/, '').replaceAll(/\{[^}]+\}|:[a-zA-Z]+/g, '{}')
  return `${method.toUpperCase()} ${bare}`
}

/**
 * The endpoints a text names: `METHOD /path`, and the siblings written after one as `` · `/nack` `` or
 * `` `…/done` `` (the same path with its last segment replaced).
 */
function endpointsIn(text: string): Set<string> {
  const found = new Set<string>()
  for (const line of text.split('\n')) {
    let last: { method: string; path: string } | undefined
    for (const match of line.matchAll(/`(?:(GET|POST|PUT|DELETE) )?((?:…)?\/[^\s`?]*)/g)) {
      const [, method, raw = ''] = match
      if (method !== undefined) last = { method, path: raw }
      else if (last === undefined) continue
      const path = method !== undefined ? raw : last.path.replace(/\/[^/]+$/, raw.replace(/^…/, ''))
      found.add(normalise(last.method, path))
    }
  }
  return found
}

describe("the relay's endpoints in the READMEs", () => {
  it('are the ones the relay serves, each described somewhere', async () => {
    const relay = await startTestRelay({ listen: false })
    const doc = (await relay.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>
    }
    const served = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => normalise(method, path)),
    )
    const described = new Set([...endpointsIn(readme), ...endpointsIn(consoleReadme)])
    expect(served.filter((endpoint) => !described.has(endpoint))).toEqual([])

    const section = readme.slice(readme.indexOf('## Endpoints'), readme.indexOf('## Authentication'))
    const table = section.split('\n').filter((line) => line.startsWith('| `'))
    const named = [...endpointsIn(table.join('\n'))]
    expect(named.length).toBeGreaterThan(20)
    expect(named.filter((endpoint) => !served.includes(endpoint))).toEqual([])
  })
})
