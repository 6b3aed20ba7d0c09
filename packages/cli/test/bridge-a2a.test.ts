import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { TaskState } from '@a2a-js/sdk'
import { AgentEvent, type AgentExecutor } from '@a2a-js/sdk/server'
import { type A2AAgent, agentMessage, startA2AAgent, textPart } from '@agent-comm/test-support/a2a-agent'
import { describe, expect, it } from 'vitest'
import { onCleanup, project, registerAgents, runCli } from './helpers.js'

/**
 * An external A2A agent (the SDK's own server), only for `Bearer <token>`: it echoes, except `ask`, whose
 * task asks "which color?" (input-required) and completes with the answer to it.
 */
async function echoAgent(token: string): Promise<A2AAgent> {
  const executor: AgentExecutor = {
    async execute(context, bus) {
      const text = context.userMessage.parts
        .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
        .join('')
      if (text === 'ask' || context.task !== undefined) {
        const answered = context.task !== undefined
        bus.publish(
          AgentEvent.task({
            id: context.taskId,
            contextId: context.contextId,
            status: {
              state: answered ? TaskState.TASK_STATE_COMPLETED : TaskState.TASK_STATE_INPUT_REQUIRED,
              message: answered ? undefined : agentMessage(context, 'which color?'),
              timestamp: new Date().toISOString(),
            },
            artifacts: answered
              ? [
                  {
                    artifactId: 'a1',
                    name: 'paint',
                    description: '',
                    parts: [textPart(`painted ${text} (task ${context.taskId})`)],
                    metadata: undefined,
                    extensions: [],
                  },
                ]
              : [],
            history: [...(context.task?.history ?? []), context.userMessage],
            metadata: undefined,
          }),
        )
        bus.finished()
        return
      }
      bus.publish(
        AgentEvent.message(agentMessage({ contextId: context.contextId, taskId: '' }, `echo: ${text}`)),
      )
      bus.finished()
    },
    async cancelTask() {},
  }
  return startA2AAgent({ name: 'echo', description: 'Echoes', executor, token, onCleanup })
}

/** Serves `agent`'s own card from another origin (another port): its JSON-RPC endpoint is not there. */
async function cardElsewhere(agent: A2AAgent): Promise<string> {
  const card = await (await fetch(agent.cardUrl)).text()
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(card)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/card.json`
}

describe('agent-comm bridge --a2a', () => {
  it('sends the remote agent its own token (AGENT_COMM_A2A_TOKEN_<AGENT>) before the shared one', async () => {
    const { cardUrl } = await echoAgent('partner-token')
    const p = project()
    await registerAgents(p, 'architect')
    await p.ok(['register', 'partner-b', '-c', 'echo', '-d', 'remote', '--a2a-url', cardUrl])
    await p.ok(['send', 'architect', 'partner-b', 'hello', '-s', 'Hi'])
    const env = {
      ...p.env,
      AGENT_COMM_A2A_TOKEN: 'shared-token',
      AGENT_COMM_A2A_TOKEN_PARTNER_B: 'partner-token',
    }
    const run = await runCli(['bridge', 'partner-b', '--a2a', '--once'], { cwd: p.dir, env })
    expect(run.stdout).toContain('1 processed, 1 succeeded, 0 failed')
    const polled = await p.json<{ messages: { message: { body: string } }[] }>(['poll', 'architect'])
    expect(polled.messages[0]?.message.body).toBe('echo: hello')
    // With only the shared token, the agent refuses: the message fails.
    await p.ok(['send', 'architect', 'partner-b', 'again', '-s', 'Hi'])
    const refused = await runCli(['bridge', 'partner-b', '--a2a', '--once'], {
      cwd: p.dir,
      env: { ...p.env, AGENT_COMM_A2A_TOKEN: 'shared-token' },
    })
    expect(refused.stdout).toContain('1 processed, 0 succeeded, 1 failed')
  })
  it('continues a remote task that asked for input, across two bridge --once runs', async () => {
    const { cardUrl } = await echoAgent('t')
    const p = project()
    await registerAgents(p, 'architect')
    await p.ok(['register', 'painter', '-c', 'paint', '-d', 'remote', '--a2a-url', cardUrl])
    await p.ok(['send', 'architect', 'painter', 'ask', '-s', 'Paint'])
    const env = { ...p.env, AGENT_COMM_A2A_TOKEN: 't' }
    expect((await runCli(['bridge', 'painter', '--a2a', '--once'], { cwd: p.dir, env })).code).toBe(0)
    const asked = await p.json<{
      messages: { message: { id: string; body: string; payload: { data: { a2a: { taskId: string } } } } }[]
    }>(['poll', 'architect'])
    const question = asked.messages[0]!.message
    expect(question.body).toBe('which color?')
    await p.ok(['send', 'architect', 'painter', 'blue', '-s', 'Re: Paint', '--reply-to', question.id])
    // A new process: the remote task is found again in the conversation.
    expect((await runCli(['bridge', 'painter', '--a2a', '--once'], { cwd: p.dir, env })).code).toBe(0)
    const answered = await p.json<{ messages: { message: { body: string } }[] }>(['poll', 'architect'])
    expect(answered.messages.map((m) => m.message.body)).toContain(
      `painted blue (task ${question.payload.data.a2a.taskId})`,
    )
  })

  it('sends to an endpoint on another origin than the card only when AGENT_COMM_A2A_ENDPOINT_ORIGINS allows it', async () => {
    const agent = await echoAgent('t')
    const p = project()
    await registerAgents(p, 'architect')
    await p.ok(['register', 'partner', '-c', 'echo', '-d', 'remote', '--a2a-url', await cardElsewhere(agent)])
    await p.ok(['send', 'architect', 'partner', 'hello', '-s', 'Hi'])
    const bridge = (origins?: string) =>
      runCli(['bridge', 'partner', '--a2a', '--once'], {
        cwd: p.dir,
        env: {
          ...p.env,
          AGENT_COMM_A2A_TOKEN: 't',
          ...(origins === undefined ? {} : { AGENT_COMM_A2A_ENDPOINT_ORIGINS: origins }),
        },
      })
    // Not allowed: the message fails (dead-lettered at once), and the agent is never called.
    expect((await bridge()).stdout).toContain('1 processed, 0 succeeded, 1 failed')
    expect(agent.calls).toEqual([])
    // The variable is a comma-separated list (spaces and empty entries passed over): the agent's origin
    // among others lets the next message through.
    await p.ok(['send', 'architect', 'partner', 'again', '-s', 'Hi'])
    expect((await bridge(` http://127.0.0.1:9 ,, ${agent.base} ,`)).stdout).toContain(
      '1 processed, 1 succeeded, 0 failed',
    )
    const polled = await p.json<{ messages: { message: { body: string } }[] }>(['poll', 'architect'])
    expect(polled.messages.map((m) => m.message.body)).toEqual(['echo: again'])
  })
})
