import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MAX_NACK_REASON_LENGTH } from '@agent-comm/protocol/bounds'
import { describe, expect, it } from 'vitest'
import { issuesInFlagTerms, plainIssueMessage } from '../src/flag-errors.js'
import { project, registerAgents, runCli } from './helpers.js'

const RECORDER = pathToFileURL(fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url))).href

describe('validation errors name the flag the user typed and say what it takes', () => {
  it('refuses register --metadata that is not a JSON object in plain words, with an example', async () => {
    const p = project()
    for (const [value, got] of [
      ['[1]', 'an array'],
      ['"text"', 'a string'],
      ['42', 'a number'],
    ]) {
      const run = await p.run(['register', 'a', '-c', 'x', '-d', 'l', '--metadata', value!])
      expect(run.code).toBe(2)
      expect(run.stderr).toBe(
        `Error: Invalid --metadata: expected a JSON object, got ${got}\nGive --metadata a JSON object, e.g. --metadata '{"model":"gpt-5"}'.\n`,
      )
    }
  })

  it('names --relay-url and --inbox-dir, not the profile fields relayUrl and inboxDir', async () => {
    const p = project()
    const url = await p.run([
      'register',
      'r',
      '-c',
      'x',
      '-d',
      'l',
      '--transport-type',
      'http',
      '--relay-url',
      'notaurl',
    ])
    expect(url.code).toBe(2)
    expect(url.stderr).toBe(
      'Error: Invalid --relay-url: must be an http(s) URL, or several comma-separated\nChange --relay-url as the error says and try again.\n',
    )
    const dir = await p.run(['register', 'f', '-c', 'x', '-d', 'l', '--transport-type', 'file', '--json'])
    expect(dir.code).toBe(2)
    expect(JSON.parse(dir.stdout).error).toEqual({
      code: 'VALIDATION',
      message:
        "Invalid --inbox-dir: is required for transport 'file': give the folder the agent reads its messages from",
      hint: 'Change --inbox-dir as the error says and try again.',
    })
    expect(url.stderr + dir.stdout).not.toMatch(/relayUrl|inboxDir|agent profile/)
  })

  it('names the flags of send, on its fast path too, and keeps a hint written for the problem', async () => {
    const p = project()
    await registerAgents(p, 'a', 'b')
    const subject = await p.run(['send', 'a', 'b', 'hi', '--subject', 'x'.repeat(2000)])
    expect(subject.code).toBe(2)
    expect(subject.stderr).toBe(
      'Error: Invalid --subject: must be at most 1024 bytes\nChange --subject as the error says and try again.\n',
    )
    const metadata = await p.run(['send', 'a', 'b', 'hi', '--metadata', '[]'])
    expect(metadata.stderr).toMatch(/^Error: Invalid --metadata: expected a JSON object, got an array\n/)
    const trace = await p.run(['send', 'a', 'b', 'hi', '--metadata', '{"trace":{"traceparent":"zz"}}'])
    expect(trace.code).toBe(2)
    expect(trace.stderr).toMatch(/^Error: Invalid --metadata: trace\.traceparent: must be a W3C traceparent/)
    expect(trace.stderr).toContain('Leave metadata.trace out')
  })

  it('names --conversation and --idempotency-key of send, with what they take, on its fast path and through oclif', async () => {
    const p = project()
    await registerAgents(p, 'a', 'b')
    const cases = [
      [
        ['--conversation', 'c'.repeat(130)],
        'Error: Invalid --conversation: must be at most 128 characters\nChange --conversation as the error says and try again.\n',
      ],
      [
        ['--idempotency-key', 'k'.repeat(201)],
        'Error: Invalid --idempotency-key: must be at most 200 characters\nGive --idempotency-key a key of letters, digits and . _ : @ - / + =, e.g. a UUID, a hash or task-42/attempt.\n',
      ],
    ] as const
    for (const [flags, expected] of cases) {
      const record = join(p.dir, 'modules.txt')
      const fast = await runCli(['send', 'a', 'b', 'hi', ...flags], {
        cwd: p.dir,
        env: { ...p.env, NODE_OPTIONS: `--import=${RECORDER}`, RECORD_MODULES_TO: record },
      })
      expect(fast, flags[0]).toMatchObject({ code: 2, stderr: expected })
      const loaded = readFileSync(record, 'utf8').split('\n')
      expect(
        loaded.filter((file) => file.includes('oclif')),
        flags[0],
      ).toEqual([])
      // --ttl-hours has a parser of its own: oclif runs this line.
      const viaOclif = await p.run(['send', 'a', 'b', 'hi', ...flags, '--ttl-hours', '24'])
      expect(viaOclif, flags[0]).toMatchObject({ code: 2, stderr: expected })
    }
    const reply = await p.run([
      'reply',
      'msg_01M8P2XNJC35ZGK871SAMBHFVH',
      'b',
      'hi',
      '--idempotency-key',
      'a b',
    ])
    expect(reply.code).toBe(2)
    expect(reply.stderr).toMatch(/^Error: Invalid --idempotency-key: may contain only letters/)
  })

  it('names the capability, cleanup and nack flags with their limits, not the library fields', async () => {
    const p = project()
    const capability = await p.run(['register', 'x', '-c', `ok,${'c'.repeat(65)}`, '-d', 'd'])
    expect(capability.code).toBe(2)
    expect(capability.stderr).toBe(
      'Error: Invalid --capabilities: value 2: must be at most 64 characters\nChange --capabilities as the error says and try again.\n',
    )
    const cleanup = await p.run(['cleanup', '--acked-older-than', '99999999d'])
    expect(cleanup.code).toBe(2)
    expect(cleanup.stderr).toBe(
      'Error: Invalid --acked-older-than: must be at most 1,000 years\nChange --acked-older-than as the error says and try again.\n',
    )
    await registerAgents(p, 'a', 'b')
    const id = (await p.ok(['send', 'a', 'b', 'hi', '--quiet'])).stdout.trim()
    await p.ok(['poll', 'b'])
    const nack = await p.run(['nack', id, 'b', '--reason', 'r'.repeat(MAX_NACK_REASON_LENGTH + 1)])
    expect(nack.code).toBe(2)
    expect(nack.stderr).toBe(
      `Error: Invalid --reason: must be at most ${MAX_NACK_REASON_LENGTH / 1024} KiB\nChange --reason as the error says and try again.\n`,
    )
    expect(capability.stderr + cleanup.stderr + nack.stderr).not.toMatch(
      /capabilities\.0|OlderThanMs|nack options/,
    )
  })

  it('refuses a bad --agent of mcp install, saying what an agent id is', async () => {
    const p = project()
    const run = await p.run(['mcp', 'install', '--client', 'claude-code', '--agent', 'bad id', '--dry-run'])
    expect(run.code).toBe(2)
    expect(run.stderr).toBe(
      'Error: Invalid --agent: may contain only letters, digits and . _ : @ -\nGive --agent an agent id: 1-128 letters, digits and . _ : @ -.\n',
    )
  })

  it('says zod type mismatches in plain words, and leaves an issue at a field no flag sets alone', () => {
    expect(plainIssueMessage('Invalid input: expected record, received array')).toBe(
      'expected a JSON object, got an array',
    )
    expect(plainIssueMessage('must be an http(s) URL')).toBe('must be an http(s) URL')
    expect(
      issuesInFlagTerms(
        [
          { path: 'relayUrl', message: 'bad' },
          { path: 'agentId', message: 'bad' },
        ],
        { relayUrl: '--relay-url' },
        null,
      ),
    ).toBeUndefined()
    expect(
      issuesInFlagTerms(
        [{ path: 'routing.conversationId', message: 'must be at most 128 characters' }],
        { routing: '--routing', 'routing.conversationId': '--conversation' },
        null,
      ),
    ).toEqual({
      message: 'Invalid --conversation: must be at most 128 characters',
      hint: 'Change --conversation as the error says and try again.',
    })
  })
})
