import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { project, registerAgents } from './helpers.js'

describe('send --body-file', () => {
  it('takes the body from a file, or from stdin with -, as the <body> argument would', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const text = 'line one\n  "quoted" $HOME `not run`\nline three'
    writeFileSync(join(p.dir, 'report.md'), `${text}\n`)
    const fromFile = await p.json<{ message: { body: string } }>([
      'send',
      'agent-a',
      'agent-b',
      '--body-file',
      'report.md',
    ])
    expect(fromFile.message.body).toBe(text)
    const fromStdin = await p.run(['send', 'agent-a', 'agent-b', '--body-file', '-', '--json'], {
      input: `${text}\n`,
    })
    expect(fromStdin.code).toBe(0)
    expect(JSON.parse(fromStdin.stdout).message.body).toBe(text)
  })

  it('exits 2 for a missing file, and for a body given twice or not at all', async () => {
    const p = project()
    await registerAgents(p, 'agent-a', 'agent-b')
    const missing = await p.run(['send', 'agent-a', 'agent-b', '--body-file', 'nope.md'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('cannot read --body-file nope.md: no such file')
    const twice = await p.run(['send', 'agent-a', 'agent-b', 'hi', '--body-file', 'nope.md'])
    expect(twice.code).toBe(2)
    expect(twice.stderr).toContain('exactly one of them')
    expect((await p.run(['send', 'agent-a', 'agent-b'])).code).toBe(2)
  })
})
