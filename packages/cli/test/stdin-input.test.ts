import { describe, expect, it } from 'vitest'
import { project, registerAgents } from './helpers.js'

describe('stdin is read only where a command means to, and to its end', () => {
  it('ack --stdin takes input already at its end as poll output, not as a message id', async () => {
    const p = project()
    const run = await p.run(['ack', '--stdin', '--json'], {
      input: '{"agent":"alice","count":0,"messages":[]}',
    })
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({ count: 0, acked: [], failed: [] })
  })

  it('send --body-file - takes input already at its end as the body, not also as the <body> argument', async () => {
    const p = project()
    await registerAgents(p, 'alice', 'bob')
    const run = await p.run(['send', 'bob', 'alice', '--body-file', '-', '--json'], {
      input: 'first-line\nsecond-line\n',
    })
    expect(run.code, run.stdout).toBe(0)
    expect(JSON.parse(run.stdout).message.body).toBe('first-line\nsecond-line')
  })

  it('send without a body never takes a piped stdin as one: a usage error with the usage hint', async () => {
    const p = project()
    await registerAgents(p, 'alice', 'bob')
    const run = await p.run(['send', 'bob', 'alice'], { input: 'not meant as a body\n' })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('it is missing')
    expect(run.stderr).toContain('See the usage: agent-comm send --help')
  })
})
