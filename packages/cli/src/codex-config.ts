// Codex keeps its MCP servers and feature flags in TOML. We edit the text (so the user's comments, order and
// other servers stay as written), then parse the result and compare it with the document we meant to write:
// when a hand edit cannot express the change (an inline `mcp_servers = { … }`, a value spread over lines),
// the file is written from the parsed document instead. Either way the file we write is valid TOML.
import { isDeepStrictEqual } from 'node:util'
import { parse, stringify } from 'smol-toml'
import {
  CODEX_STARTUP_TIMEOUT_SEC,
  CODEX_TOOL_TIMEOUT_SEC,
  SERVER_KEY,
  type ServerSpec,
} from './client-config.js'

type Table = Record<string, unknown>

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}

/** Parses the Codex config `text` of `file`. Throws, naming the file, when it is not valid TOML. */
export function parseCodexToml(file: string, text: string): Table {
  try {
    return parse(text) as Table
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0]
    throw new Error(`${file} is not valid TOML (${reason}); fix it or move it away, nothing was changed`)
  }
}

/** agent-comm's server entry in a parsed Codex config, if any. */
export function codexServer(config: Table): Table | undefined {
  const servers = config.mcp_servers
  const entry = isTable(servers) ? servers[SERVER_KEY] : undefined
  return isTable(entry) ? entry : undefined
}

/** agent-comm's Codex entry as a TOML value. */
function codexEntry(spec: ServerSpec): Table {
  return {
    command: spec.command,
    args: spec.args,
    startup_timeout_sec: CODEX_STARTUP_TIMEOUT_SEC,
    tool_timeout_sec: CODEX_TOOL_TIMEOUT_SEC,
    ...(Object.keys(spec.env).length > 0 ? { env: spec.env } : {}),
  }
}

function tomlString(value: string): string {
  return JSON.stringify(value)
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key)
}

/** The TOML tables of agent-comm's Codex entry. */
export function codexTables(spec: ServerSpec): string {
  const lines = [
    `[mcp_servers.${SERVER_KEY}]`,
    `command = ${tomlString(spec.command)}`,
    `args = [${spec.args.map(tomlString).join(', ')}]`,
    `startup_timeout_sec = ${CODEX_STARTUP_TIMEOUT_SEC}`,
    `tool_timeout_sec = ${CODEX_TOOL_TIMEOUT_SEC}`,
  ]
  if (Object.keys(spec.env).length > 0) {
    lines.push('', `[mcp_servers.${SERVER_KEY}.env]`)
    for (const [name, value] of Object.entries(spec.env))
      lines.push(`${tomlKey(name)} = ${tomlString(value)}`)
  }
  return `${lines.join('\n')}\n`
}

const TABLE_HEADER = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/
const OUR_KEY = `(?:${SERVER_KEY}|"${SERVER_KEY}"|'${SERVER_KEY}')`
/** `agent-comm = …` or `agent-comm.x = …` inside `[mcp_servers]`. */
const KEY_IN_SERVERS = new RegExp(`^\\s*${OUR_KEY}\\s*[.=]`)
/** `mcp_servers.agent-comm… = …` before the first table. */
const DOTTED_AT_ROOT = new RegExp(`^\\s*mcp_servers\\s*\\.\\s*${OUR_KEY}\\s*[.=]`)

/**
 * `toml` without agent-comm's entry in any of its line forms: its tables (`[mcp_servers.agent-comm]` and
 * below), an `agent-comm = { … }` line under `[mcp_servers]`, a dotted `mcp_servers.agent-comm.… =` line.
 * Every other line, comment and table is kept as written.
 */
export function removeCodexServer(toml: string): string {
  const out: string[] = []
  const prefix = `mcp_servers.${SERVER_KEY}`
  let table = ''
  for (const line of toml.split('\n')) {
    const header = TABLE_HEADER.exec(line)
    if (header !== null) table = header[1]!.replace(/["']/g, '').replace(/\s*\.\s*/g, '.')
    if (table === prefix || table.startsWith(`${prefix}.`)) continue
    if (table === 'mcp_servers' && KEY_IN_SERVERS.test(line)) continue
    if (table === '' && DOTTED_AT_ROOT.test(line)) continue
    out.push(line)
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n')
}

/** `edited` when it parses to `wanted`, else `wanted` written out afresh (valid, without comments). */
function checked(edited: string, wanted: Table): string {
  let parsed: unknown
  try {
    parsed = parse(edited)
  } catch {
    return stringify(wanted)
  }
  return isDeepStrictEqual(plain(parsed), plain(wanted)) ? edited : stringify(wanted)
}

/** `value` with every table a plain object: smol-toml's tables have no prototype, ours do. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain)
  if (!isTable(value)) return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]))
}

/** The Codex config `existing` (of `file`) with agent-comm's entry replaced or added, all else kept. */
export function mergeCodexToml(file: string, existing: string, spec: ServerSpec): string {
  const config = parseCodexToml(file, existing)
  const servers = isTable(config.mcp_servers) ? config.mcp_servers : {}
  const wanted = { ...config, mcp_servers: { ...servers, [SERVER_KEY]: codexEntry(spec) } }
  const kept = removeCodexServer(existing).trimEnd()
  return checked(`${kept === '' ? '' : `${kept}\n\n`}${codexTables(spec)}`, wanted)
}

/** Codex's hooks need `[features] codex_hooks = true`: added when missing, everything else kept. */
export function enableCodexHooks(file: string, toml: string): string {
  const config = parseCodexToml(file, toml)
  const features = isTable(config.features) ? config.features : {}
  if (features.codex_hooks === true) return toml
  const wanted = { ...config, features: { ...features, codex_hooks: true } }
  const lines = toml.split('\n')
  const at = lines.findIndex((line) => /^\s*\[\s*features\s*\]\s*(#.*)?$/.test(line))
  if (at === -1)
    return checked(
      `${toml.trimEnd()}${toml.trim() === '' ? '' : '\n\n'}[features]\ncodex_hooks = true\n`,
      wanted,
    )
  // Only the lines of [features] itself lose an earlier codex_hooks: the next table ends it.
  let end = lines.findIndex((line, i) => i > at && TABLE_HEADER.test(line))
  if (end === -1) end = lines.length
  const inFeatures = lines.slice(at + 1, end).filter((line) => !/^\s*codex_hooks\s*=/.test(line))
  return checked(
    [...lines.slice(0, at + 1), 'codex_hooks = true', ...inFeatures, ...lines.slice(end)].join('\n'),
    wanted,
  )
}
