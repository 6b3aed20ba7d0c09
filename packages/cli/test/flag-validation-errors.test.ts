import { describe, expect, it } from 'vitest'
import { issuesInFlagTerms, plainIssueMessage } from '../src/flag-errors.js'
import { project, registerAgents } from './helpers.js'

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
  })
})
