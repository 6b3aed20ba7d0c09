import { describe, expect, it } from 'vitest'
import { attachClients, codeBlocks, decision, parseJsonValues } from '../blocks.mjs'

const readme = [
  '# demo',
  '',
  '```sh',
  'agent-comm stats',
  '```',
  '',
  '<!-- example: not run — needs two machines; test/cross-device.test.ts runs it on one -->',
  '',
  '```sh',
  'ssh other-machine agent-comm stats',
  '```',
  '',
  '```',
  'no language',
  '```',
  '<!-- example: continues the block above -->',
  '```sh',
  'agent-comm agents',
  '```',
  '<!-- example: skip this -->',
  '```ts',
  'x',
  '```',
  '<!-- example: runs until stopped — ready when it prints /listening on http:\\/\\/\\S+/ -->',
  '```sh',
  'agent-comm relay start',
  '```',
  '<!-- example: runs while the block above runs -->',
  '```sh',
  'agent-comm relay gen-secret agent-b',
  '```',
  '<!-- example: not run — needs two machines -->',
  '```sh',
  'ssh other-machine agent-comm stats',
  '```',
].join('\n')

describe('README code blocks', () => {
  const blocks = codeBlocks(readme)

  it('finds every fenced block with its language, code, line and marker', () => {
    expect(blocks.map((b) => [b.lang, b.line, b.marker])).toEqual([
      ['sh', 3, undefined],
      ['sh', 9, 'not run — needs two machines; test/cross-device.test.ts runs it on one'],
      ['', 13, undefined],
      ['sh', 17, 'continues the block above'],
      ['ts', 21, 'skip this'],
      ['sh', 25, 'runs until stopped — ready when it prints /listening on http:\\/\\/\\S+/'],
      ['sh', 29, 'runs while the block above runs'],
      ['sh', 33, 'not run — needs two machines'],
    ])
    expect(blocks[0]?.code).toBe('agent-comm stats\n')
  })

  it('runs an unmarked block, skips a marked one with its reason, and refuses an unknown marker', () => {
    expect(decision(blocks[0])).toEqual({ kind: 'run' })
    expect(decision(blocks[1])).toEqual({
      kind: 'skip',
      reason: 'needs two machines; test/cross-device.test.ts runs it on one',
    })
    // A block without a language is still to run: the checker then fails it for having none.
    expect(decision(blocks[2])).toEqual({ kind: 'run' })
    expect(decision(blocks[3])).toEqual({ kind: 'continue' })
    expect(() => decision(blocks[4])).toThrow(/unknown example marker 'skip this'/)
  })

  it('refuses a not-run reason that names no place where the same steps run', () => {
    expect(() => decision(blocks[7])).toThrow(/names no place where the same steps run/)
  })

  it('reads a block that runs until stopped with its readiness pattern, and a block that runs beside it', () => {
    const server = decision(blocks[5])
    expect(server.kind).toBe('server')
    expect(server.ready.test('Relay listening on http://127.0.0.1:8420 (data: x)')).toBe(true)
    expect(server.ready.test('Relay stopped.')).toBe(false)
    expect(decision(blocks[6])).toEqual({ kind: 'client' })
  })

  it('runs client blocks beside the server above them, and refuses a client with no server above', () => {
    const step = (kind) => ({ action: { kind } })
    const steps = attachClients([
      step('server'),
      step('client'),
      step('text'),
      step('client'),
      step('run'),
      step('client'),
    ])
    expect(steps[0].clients).toEqual([steps[1], steps[3]])
    expect(steps[5].action).toMatchObject({ kind: 'invalid', problem: expect.stringMatching(/no server/) })
  })

  it('reads a jsonc transcript as the JSON values in it, comments aside', () => {
    const source = '// A → tool\n{ "a": "x // not a comment" }  // ← answer\n{ "b": [1, 2] }\n'
    expect(parseJsonValues(source)).toEqual([{ a: 'x // not a comment' }, { b: [1, 2] }])
    expect(() => parseJsonValues('{ "a": 1, … }')).toThrow()
  })
})
