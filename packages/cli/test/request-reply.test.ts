import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { exited, project, registerAgents, spawnCli } from './helpers.js'

const agent = fileURLToPath(new URL('./fixtures/answer.mjs', import.meta.url))
const command = [process.execPath, agent].map((w) => `'${w}'`).join(' ')

/** Polls until `agent` has a pending message; its id. */
async function pendingId(p: ReturnType<typeof project>, agentId: string): Promise<string> {
  for (;;) {
    const { pending } = await p.json<{ pending: { message: { id: string } }[] }>(['inbox', agentId])
    if (pending.length > 0) return pending[0]!.message.id
  }
}

describe('agent-comm request / reply', () => {
  it('prints the reply a human gives with agent-comm reply', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'human')
    const waiting = p.run(['request', 'architect', 'human', 'May I deploy?', '-s', 'Deploy', '--wait', '120'])
    const id = await pendingId(p, 'human')
    const replied = await p.json<{ messageId: string; replyTo: string }>(['reply', id, 'human', 'yes, go'])
    expect(replied.replyTo).toBe(id)
    const run = await waiting
    expect(run.code).toBe(0)
    expect(run.stdout).toBe('yes, go\n')
  })

  it('refuses a reply from an agent that did not receive the message, the requester included', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'human')
    const id = (await p.ok(['send', 'architect', 'human', 'May I deploy?'])).stdout.trim()
    for (const replier of ['architect', 'stranger']) {
      const run = await p.run(['reply', id, replier, 'yes', '--json'])
      expect(run.code).toBe(1)
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; hint: string } }
      expect(error.code).toBe('FORBIDDEN')
      expect(error.message).toBe(`Agent '${replier}' may not reply to message '${id}': it did not receive it`)
      expect(error.hint).toContain('Only a recipient of a message can reply to it')
    }
    const { pending } = await p.json<{ pending: unknown[] }>(['inbox', 'architect'])
    expect(pending).toHaveLength(0)
  })

  it('exits 5 (TIMEOUT) naming the request id when no reply comes in time', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const run = await p.run(['request', 'architect', 'builder', 'anyone?', '--wait', '0.2', '--json'])
    expect(run.code).toBe(5)
    const { error } = JSON.parse(run.stdout) as {
      error: { code: string; message: string; hint: string; requestId: string }
    }
    expect(error.code).toBe('TIMEOUT')
    expect(error.message).toContain(`'${error.requestId}'`)
    const status = await p.json<{ message: { body: string } }>(['status', error.requestId])
    expect(status.message.body).toBe('anyone?')
    // Without a key there is none to re-run with: the hint says where the reply will be, and how to wait.
    expect(error.hint).not.toContain('same --idempotency-key')
    expect(error.hint).toContain('agent-comm poll architect')
    expect(error.hint).toContain(`agent-comm status ${error.requestId}`)
  })

  it('tells a request with --idempotency-key that timed out to re-run with that key, which waits again', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const args = ['request', 'architect', 'builder', 'anyone?', '--idempotency-key', 'ask-7', '--json']
    const run = await p.run([...args, '--wait', '0.2'])
    expect(run.code).toBe(5)
    const { error } = JSON.parse(run.stdout) as { error: { hint: string; requestId: string } }
    expect(error.hint).toContain('--idempotency-key ask-7')
    const again = await p.run([...args, '--wait', '0.2'])
    expect((JSON.parse(again.stdout) as { error: { requestId: string } }).error.requestId).toBe(
      error.requestId,
    )
  })

  it('returns the answer of a bridged agent', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const waiting = p.json<{ requestId: string; reply: { body: string; fromAgent: string } }>([
      'request',
      'architect',
      'builder',
      'build it',
      '--wait',
      '120',
    ])
    await pendingId(p, 'builder')
    expect((await p.run(['bridge', 'builder', '--command', command, '--once'])).code).toBe(0)
    const { requestId, reply } = await waiting
    expect(reply.fromAgent).toBe('builder')
    expect(JSON.parse(reply.body)).toMatchObject({ body: 'build it', from: 'architect' })
    expect(requestId).toMatch(/^msg_/)
  })
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`names the request it sent when ${signal} stops the wait, and exits ${code}`, async () => {
      const p = project()
      await registerAgents(p, 'architect', 'builder')
      const child = spawnCli(['request', 'architect', 'builder', 'anyone?', '--wait', '600', '--json'], {
        cwd: p.dir,
        env: p.env,
      })
      let stdout = ''
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
      const sent = await pendingId(p, 'builder')
      child.kill(signal)
      expect(await exited(child)).toBe(code)
      const { error } = JSON.parse(stdout) as {
        error: { code: string; message: string; hint: string; requestId: string }
      }
      expect(error).toMatchObject({ code: 'ABORTED', requestId: sent })
      expect(error.message).toContain(`'${sent}'`)
      expect(error.hint).toContain('agent-comm poll architect')
    })
  }
})
