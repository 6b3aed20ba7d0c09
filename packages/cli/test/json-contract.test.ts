// The README's `--json` contract holds to what the commands print: each command is run with --json and its
// document has exactly the fields its row lists (a field marked `?` may be left out), nested objects and
// the first element of arrays included where the row spells them out.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type Project, project, registerAgents } from './helpers.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** A document's shape as the README writes it: its fields, each optional or not, with a nested shape. */
interface Shape {
  fields: Map<string, { optional: boolean; shape?: Shape | undefined }>
}

/** Splits `a, b: { c, d }, e` at the commas outside braces and brackets. */
function topLevel(text: string): string[] {
  const parts: string[] = []
  let depth = 0
  let current = ''
  for (const char of text) {
    if ('{['.includes(char)) depth++
    if ('}]'.includes(char)) depth--
    if (char === ',' && depth === 0) {
      parts.push(current.trim())
      current = ''
    } else current += char
  }
  if (current.trim() !== '') parts.push(current.trim())
  return parts
}

/** The shape of `{ a, b?: { c }, d: [{ e }] }`; a value that is no object (`"acked"`, `[profile]`) is a leaf. */
function parseShape(text: string): Shape {
  const inner = text.trim().replace(/^\{/, '').replace(/\}$/, '')
  const fields: Shape['fields'] = new Map()
  for (const part of topLevel(inner)) {
    const match = /^([a-zA-Z]+)(\??)(?::\s*(.*))?$/s.exec(part)
    if (match === null) continue // `…counts` and the like: prose, not a field
    const [, name = '', optional, value = ''] = match
    const nested = value.trim().replace(/^\[\s*(\{.*\})\s*\]$/s, '$1')
    fields.set(name, {
      optional: optional === '?',
      shape: nested.startsWith('{') ? parseShape(nested) : undefined,
    })
  }
  return { fields }
}

/** The first `{ … }` of a cell, balanced. */
function firstDocument(cell: string): string | undefined {
  const start = cell.indexOf('{')
  if (start < 0) return undefined
  let depth = 0
  for (let i = start; i < cell.length; i++) {
    if (cell[i] === '{') depth++
    if (cell[i] === '}' && --depth === 0) return cell.slice(start, i + 1)
  }
  return undefined
}

/** The `--json` contract table: command → documented shape. */
const contract = (() => {
  const section = readme.slice(readme.indexOf('## The `--json` contract'))
  const rows = new Map<string, Shape>()
  const lines = section.split('\n')
  for (const line of lines.slice(lines.findIndex((l) => l.startsWith('| command')) + 2)) {
    if (!line.startsWith('|')) break
    const [command = '', document = ''] = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim())
    const doc = firstDocument(document.replaceAll('\\|', '|').replaceAll('`', ''))
    if (doc !== undefined)
      for (const name of command.matchAll(/`([^`]+)`/g)) rows.set(name[1] as string, parseShape(doc))
  }
  return rows
})()

/** What differs between a printed document and its shape: missing fields, fields not documented. */
function differences(value: unknown, shape: Shape, path = ''): string[] {
  if (typeof value !== 'object' || value === null) return [`${path || '(document)'} is not an object`]
  const found: string[] = []
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record))
    if (!shape.fields.has(key)) found.push(`${path}${key}: not documented`)
  for (const [key, field] of shape.fields) {
    if (!(key in record)) {
      if (!field.optional) found.push(`${path}${key}: documented, not printed`)
      continue
    }
    const child = record[key]
    const first = Array.isArray(child) ? child[0] : child
    if (field.shape !== undefined && first !== undefined && first !== null) {
      found.push(...differences(first, field.shape, `${path}${key}.`))
    }
  }
  return found
}

async function documentOf(p: Project, args: string[], input?: string): Promise<unknown> {
  const run = await p.run([...args, '--json'], input === undefined ? {} : { input })
  expect(run.code, `${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(0)
  return JSON.parse(run.stdout)
}

describe('the --json contract in the README', () => {
  it('documents the fields each command prints, and only those', async () => {
    const p = project()
    await registerAgents(p, 'architect')
    const printed = new Map<string, unknown>()
    const show = async (row: string, args: string[], input?: string) => {
      printed.set(row, await documentOf(p, args, input))
    }
    await show('register', ['register', 'builder', '-c', 'code', '-d', 'laptop', '--metadata', '{"m":1}'])
    await show('heartbeat', ['heartbeat', 'builder'])
    await show('agents', ['agents'])
    const sent = (await documentOf(p, ['send', 'architect', 'builder', 'Task', '-s', 'T'])) as {
      messageId: string
    }
    printed.set('send', sent)
    await show('inbox', ['inbox', 'builder'])
    await show('inbox --new', ['inbox', 'builder', '--new'])
    const polled = (await documentOf(p, ['poll', 'builder'])) as {
      messages: { message: { id: string }; lease: { receipt: string } }[]
    }
    printed.set('poll', polled)
    await show('extend', ['extend', sent.messageId, 'builder'])
    await show('reply', ['reply', sent.messageId, 'builder', 'Done'])
    await show('ack', ['ack', sent.messageId, 'builder'])
    const second = (await documentOf(p, ['send', 'architect', 'builder', 'Again'])) as { messageId: string }
    const batch = (await p.ok(['poll', 'builder', '--json'])).stdout
    await show('ack --stdin', ['ack', '--stdin'], batch)
    const third = (await documentOf(p, ['send', 'architect', 'builder', 'Retry me'])) as { messageId: string }
    await p.ok(['poll', 'builder'])
    await show('nack', ['nack', third.messageId, 'builder', '--reason', 'busy', '--dead-letter'])
    await show('failed', ['failed'])
    await show('retry', ['retry', third.messageId])
    await show('status', ['status', second.messageId])
    const conversations = (await documentOf(p, ['conversations'])) as {
      conversations: { conversationId: string }[]
    }
    printed.set('conversations', conversations)
    await show('conversation', ['conversation', conversations.conversations[0]?.conversationId as string])
    await show('search', ['search', 'Task'])
    await show('cleanup', ['cleanup', '--dry-run'])
    await p.ok(['send', 'architect', 'builder', 'For the bridge'])
    await show('bridge --once', ['bridge', 'builder', '--command', `'${process.execPath}' -e 0`, '--once'])
    await show('deregister', ['deregister', 'builder'])
    const dataDir = join(p.dir, 'relay')
    await show('relay gen-secret', ['relay', 'gen-secret', 'builder', '--data-dir', dataDir])
    await show('relay list-secrets', ['relay', 'list-secrets', '--data-dir', dataDir])
    await show('relay revoke-secret', ['relay', 'revoke-secret', 'builder', '--data-dir', dataDir])
    await show('relay a2a-token', [
      'relay',
      'a2a-token',
      'create',
      'acme',
      '--agents',
      'builder',
      '--data-dir',
      dataDir,
    ])
    const listed = await documentOf(p, ['relay', 'a2a-token', 'list', '--data-dir', dataDir])
    await show('demo', ['demo'])

    const problems: string[] = []
    for (const [row, document] of printed) {
      const shape = contract.get(row)
      if (shape === undefined) {
        problems.push(`${row}: no row in the --json contract`)
        continue
      }
      problems.push(...differences(document, shape).map((problem) => `${row}: ${problem}`))
    }
    problems.push(
      ...differences(listed, contract.get('relay a2a-token') as Shape).map(
        (problem) => `relay a2a-token list: ${problem}`,
      ),
    )
    expect(problems).toEqual([])
  })
})
