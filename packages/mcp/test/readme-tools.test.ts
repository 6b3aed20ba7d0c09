// The README's tool table holds to the server: a row per tool it lists, in its order, each naming every
// parameter of the tool's input schema (and no other), with `*` on exactly the required ones.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BIN, connect, fakeRelaySecrets, openCoordinator } from './helpers.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The rows of the table headed `| tool | parameters | what it does |`. */
const rows = (() => {
  const lines = readme.split('\n')
  const start = lines.findIndex((line) => line.startsWith('| tool | parameters |'))
  const found: { tool: string; parameters: string; what: string }[] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    const [tool = '', parameters = '', what = ''] = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim())
    found.push({ tool: tool.replaceAll('`', ''), parameters, what: what.replaceAll('`', '') })
  }
  return found
})()

/**
 * The parameters a cell names, as `name` or `name*`: the backticked words that open the cell or follow a
 * comma or " or " (what follows a name in parentheses describes it).
 */
function parametersOf(cell: string): { name: string; required: boolean }[] {
  const top = cell.replaceAll(/\([^()]*(?:\([^()]*\)[^()]*)*\)/g, '')
  return [...top.matchAll(/(?:^|, | or )`([a-z_]+)(\*?)`/g)].map((m) => ({
    name: m[1] as string,
    required: m[2] === '*',
  }))
}

/** The `{ … }` after the first `→` of a cell, braces balanced. */
function resultOf(cell: string): string | undefined {
  const start = cell.indexOf('{', cell.indexOf('→'))
  if (cell.indexOf('→') < 0 || start < 0) return undefined
  let depth = 0
  for (let i = start; i < cell.length; i++) {
    if (cell[i] === '{') depth++
    if (cell[i] === '}' && --depth === 0) return cell.slice(start, i + 1)
  }
  return undefined
}

describe("the README's tool table", () => {
  it("lists the server's tools, in order, with their parameters and which are required", async () => {
    const client = await connect(await openCoordinator(), { relaySecrets: fakeRelaySecrets() })
    const { tools } = await client.listTools()
    expect(rows.map((row) => row.tool)).toEqual(tools.map((tool) => tool.name))
    for (const tool of tools) {
      const row = rows.find((r) => r.tool === tool.name)
      const documented = parametersOf(row?.parameters ?? '')
      const properties = Object.keys(tool.inputSchema.properties ?? {})
      const required = new Set(tool.inputSchema.required ?? [])
      expect(documented.map((p) => p.name).sort(), tool.name).toEqual(properties.sort())
      expect(
        documented
          .filter((p) => p.required)
          .map((p) => p.name)
          .sort(),
        `${tool.name}: required`,
      ).toEqual([...required].sort())
    }
  })

  it("states each parameter's range and default as the input schema has them", async () => {
    const client = await connect(await openCoordinator(), { relaySecrets: fakeRelaySecrets() })
    const { tools } = await client.listTools()
    const stated: string[] = []
    for (const row of rows) {
      const properties = (tools.find((tool) => tool.name === row.tool)?.inputSchema.properties ??
        {}) as Record<string, { minimum?: number; maximum?: number; default?: unknown }>
      // `limit` (1–100, default 10): a range and/or a default in the parentheses right after the name.
      for (const [, name, note = ''] of row.parameters.matchAll(/`([a-z_]+)\*?` \(([^()]*)\)/g)) {
        const schema = properties[name as string] ?? {}
        const range = /^(\d+(?:\.\d+)?)–(\d+(?:\.\d+)?)\b/.exec(note)
        if (range !== null) {
          stated.push(`${row.tool} ${name}: ${range[1]}–${range[2]} vs ${schema.minimum}–${schema.maximum}`)
          expect([schema.minimum, schema.maximum], `${row.tool} ${name}`).toEqual([
            Number(range[1]),
            Number(range[2]),
          ])
        }
        const byDefault = /default (\d+)/.exec(note)
        if (byDefault !== null) {
          // In the schema, or (a default the tool applies itself) in the tool's description.
          const description = tools.find((tool) => tool.name === row.tool)?.description ?? ''
          const applied = description.includes(`${name}, ${byDefault[1]} by default`)
            ? Number(byDefault[1])
            : undefined
          expect(schema.default ?? applied, `${row.tool} ${name}`).toBe(Number(byDefault[1]))
        }
      }
    }
    expect(stated.length).toBeGreaterThan(0)
  })

  it('shows each result with the fields of the output schema (`…` where it lists only some)', async () => {
    const client = await connect(await openCoordinator(), { relaySecrets: fakeRelaySecrets() })
    const { tools } = await client.listTools()
    const problems: string[] = []
    for (const row of rows) {
      const result = resultOf(row.what)
      const schema = tools.find((tool) => tool.name === row.tool)?.outputSchema as
        | { properties?: Record<string, unknown>; required?: string[] }
        | undefined
      if (result === undefined || schema === undefined) continue
      // The top-level fields: nested objects dropped, `?` marks an optional one.
      const top = result.slice(1, -1).replaceAll(/\{[^{}]*\}|\[[^[\]]*\]/g, '')
      const documented = [...top.matchAll(/(?:^|,)\s*([a-zA-Z][a-zA-Z0-9]*)\??/g)].map((m) => m[1] as string)
      const properties = Object.keys(schema.properties ?? {})
      for (const name of documented)
        if (!properties.includes(name)) problems.push(`${row.tool}: ${name} not returned`)
      if (top.includes('…')) continue
      for (const name of properties)
        if (!documented.includes(name)) problems.push(`${row.tool}: ${name} not shown`)
    }
    expect(problems).toEqual([])
  })

  it('counts the tools as the server has them', async () => {
    const client = await connect(await openCoordinator(), { relaySecrets: fakeRelaySecrets() })
    const { tools } = await client.listTools()
    const withoutRelay = await connect(await openCoordinator())
    const plain = (await withoutRelay.listTools()).tools
    expect(readme).toContain(`by default ${plain.length}; ${tools.length} with \`relaySecrets\``)
    const rootReadme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    expect(rootReadme).toContain(`${plain.length} tools (${tools.length} with a relay data folder)`)
  })
})

describe("the README's flags of agent-comm-mcp", () => {
  it('are the flags its --help lists', () => {
    const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' }).stdout
    const binFlags = [...help.matchAll(/^ {2}(?:-[a-z], )?--([a-z-]+)/gm)].map((m) => m[1] as string)
    const paragraph = /^Flags: ([\s\S]*?)\n\n/m.exec(readme)?.[1] ?? ''
    const documented = [...new Set([...paragraph.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1] as string))]
    expect(binFlags.length).toBeGreaterThan(5)
    expect(documented.sort()).toEqual(binFlags.sort())
  })
})
