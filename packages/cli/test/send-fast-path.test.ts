import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Flags, type Interfaces, Parser } from '@oclif/core'
import { describe, expect, it } from 'vitest'
import Send from '../src/commands/send.js'
import { type ManifestCommand, parsePlainLine, runSendFastPath } from '../src/send-fast-path.js'
import { project, registerAgents, runCli } from './helpers.js'

const manifest = JSON.parse(
  readFileSync(fileURLToPath(new URL('../oclif.manifest.json', import.meta.url)), 'utf8'),
) as { commands: Record<string, ManifestCommand> }
const SEND = manifest.commands.send!
const PLAIN = new Set(
  Object.keys(SEND.flags).filter((name) => !['payload', 'metadata', 'ttl-hours', 'delay'].includes(name)),
)
const RECORDER = pathToFileURL(fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url))).href

/** The line as oclif parses it for `send` (its flags, global ones and --json included), or its error. */
async function oclifParse(argv: string[]) {
  try {
    const { args, flags } = await Parser.parse(argv, {
      flags: {
        ...Send.baseFlags,
        ...Send.flags,
        json: Flags.boolean({ description: 'Format output as json.', helpGroup: 'GLOBAL' }),
      },
      args: Object.fromEntries(
        Object.entries(Send.args).map(([name, arg]) => [name, { ...arg, ignoreStdin: true }]),
      ) as Interfaces.ArgInput,
      strict: true,
      context: undefined,
    })
    // oclif lists flags left out as undefined; the fast path leaves them out.
    return { args, flags: Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) }
  } catch (error) {
    return { error: (error as Error).message }
  }
}

describe('send without oclif', () => {
  it("reads send's entry and the command and topic names from the build's small index, the manifest's own", () => {
    const index = JSON.parse(
      readFileSync(fileURLToPath(new URL('../dist/command-index.json', import.meta.url)), 'utf8'),
    ) as { topics: string[]; commands: string[]; send: ManifestCommand }
    const { oclif } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      oclif: { topics?: Record<string, unknown> }
    }
    expect(index.send).toEqual(SEND)
    expect(index.commands).toEqual(Object.keys(manifest.commands))
    expect(index.topics).toEqual(Object.keys(oclif.topics ?? {}))
  })
  it('parses a plain line exactly as oclif does', async () => {
    const lines = [
      ['a', 'b', 'hello'],
      ['a', 'b', '-'],
      ['a', 'b', 'hello world', '-s', 'Greeting', '-p', 'high'],
      ['a', 'b', 'hi', '--subject=Hi', '--priority=urgent', '--quiet'],
      ['a', 'b', '--body-file', 'report.md', '-q'],
      ['a', 'b', '--body-file', '-'],
      ['a', 'capability:review', 'x', '--payload-type', 'task_assignment', '--queue'],
      ['a', 'b', 'x', '--reply-to', 'msg_1', '--idempotency-key', 'k-1', '--allow-unregistered'],
      ['a', 'b', 'x', '--conversation', 'conv_1', '--json', '--db', 'x.db', '--create'],
      ['--db=x.db', 'a', '*', 'x', '--allow-foreign-tables'],
      ['a', 'b'],
    ]
    for (const line of lines) {
      const fast = parsePlainLine(line, SEND, PLAIN)
      expect(fast, line.join(' ')).toBeDefined()
      expect(fast, line.join(' ')).toEqual(await oclifParse(line))
    }
  })

  it('leaves to oclif every line it does not parse as oclif would', async () => {
    const lines = [
      // help, and what oclif refuses: unknown flags, bad values, a flag twice, missing or extra arguments
      ['a', 'b', 'hi', '--help'],
      ['a', 'b', 'hi', '-h'],
      ['a', 'b', 'hi', '--nope'],
      ['a', 'b', 'hi', '-p', 'asap'],
      ['a', 'b', 'hi', '--payload-type', 'poem'],
      ['a', 'b', 'hi', '-s', 'one', '-s', 'two'],
      ['a', 'b', 'hi', '--conversation', 'c', '--reply-to', 'm'],
      ['a'],
      ['a', 'b', 'hi', 'extra'],
      ['a', 'b', 'hi', '-s'],
      // flags with a parser of their own, and forms the fast path does not read
      ['a', 'b', 'hi', '--ttl-hours', '2'],
      ['a', 'b', 'hi', '--payload', '{}', '--payload-type', 'text'],
      ['a', 'b', 'hi', '-qs', 'x'],
      ['a', 'b', 'hi', '-sHello'],
      ['a', 'b', 'hi', '--quiet=true'],
      ['a', 'b', '-5'],
      ['a', 'b', 'hi', '-s', '--quiet'],
      ['a', 'b', 'hi', '--subject='],
      ['--', 'a', 'b', 'hi'],
    ]
    for (const line of lines) expect(parsePlainLine(line, SEND, PLAIN), line.join(' ')).toBeUndefined()
    // Each of the first ten is an oclif usage error or its help: none may be taken as a send.
    for (const line of lines.slice(2, 10))
      expect(await oclifParse(line), line.join(' ')).toHaveProperty('error')
  })

  it('sends without loading oclif, and prints what oclif would', async () => {
    const p = project()
    await registerAgents(p, 'a', 'b')
    const record = join(p.dir, 'modules.txt')
    const run = await runCli(['send', 'a', 'b', 'hello', '-s', 'Hi'], {
      cwd: p.dir,
      env: { ...p.env, NODE_OPTIONS: `--import=${RECORDER}`, RECORD_MODULES_TO: record },
    })
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toMatch(/^msg_[0-9A-Z]+\n$/)
    const files = readFileSync(record, 'utf8').split('\n')
    expect(files.some((f) => f.endsWith('send-fast-path.bundle.js'))).toBe(true)
    expect(files.filter((f) => f.includes('oclif'))).toEqual([])
    // The same send through oclif (--ttl-hours has a parser of its own, so oclif runs it) prints alike.
    const viaOclif = await p.run(['send', 'a', 'b', 'hello', '-s', 'Hi', '--ttl-hours', '24'])
    expect(viaOclif).toMatchObject({ code: 0, stderr: '' })
    expect(viaOclif.stdout).toMatch(/^msg_[0-9A-Z]+\n$/)
    const fastJson = JSON.parse((await p.ok(['send', 'a', 'b', 'x', '--json'])).stdout)
    const oclifJson = JSON.parse((await p.ok(['send', 'a', 'b', 'x', '--json', '--ttl-hours', '24'])).stdout)
    expect(Object.keys(fastJson)).toEqual(Object.keys(oclifJson))
    expect(fastJson.recipients).toEqual(['b'])
  })

  it('reports errors as the command does through oclif, as text and as JSON', async () => {
    const p = project()
    await registerAgents(p, 'a')
    for (const extra of [[], ['--json']]) {
      const fast = await p.run(['send', 'a', 'ghost', 'hi', ...extra])
      const viaOclif = await p.run(['send', 'a', 'ghost', 'hi', ...extra, '--ttl-hours', '24'])
      expect(fast.code).toBe(3)
      expect(fast).toEqual(viaOclif)
    }
    const missing = await p.run(['send', 'a', 'ghost', '--body-file', join(p.dir, 'none.md')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toBe(
      `Error: cannot read --body-file ${join(p.dir, 'none.md')}: no such file\nSee the usage: agent-comm send --help\n`,
    )
  })

  it('leaves a send with OTLP export or debug output asked for to the command class', async () => {
    for (const env of [
      { OTEL_SERVICE_NAME: 'x' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
      { DEBUG: '*' },
    ]) {
      expect(await runSendFastPath(['a', 'b', 'hi'], SEND, env)).toBe(false)
    }
  })

  it('leaves --help to oclif', async () => {
    const p = project()
    const help = await p.run(['send', 'a', 'b', 'hi', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('USAGE\n  $ agent-comm send FROM TO [BODY]')
  })
})
