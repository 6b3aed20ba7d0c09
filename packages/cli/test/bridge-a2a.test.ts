import { TaskState } from '@a2a-js/sdk'
import { AgentEvent, type AgentExecutor } from '@a2a-js/sdk/server'
import { agentMessage, startA2AAgent, textPart } from '@agent-comm/test-support/a2a-agent'
import { describe, expect, it } from 'vitest'
import { onCleanup, project, registerAgents, runCli } from './helpers.js'

/**
 * An external A2A agent (the SDK's own server), only for `Bearer <token>`: it echoes, except `ask`, whose
 * task asks "which color?" (input-required) and completes with the answer to it.
 */
async function echoAgent(token: string): Promise<string> {
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
  const agent = await startA2AAgent({ name: 'echo', description: 'Echoes', executor, token, onCleanup })
  return agent.cardUrl
}

describe('agent-comm bridge --a2a', () => {
  it('sends the remote agent its own token (AGENT_COMM_A2A_TOKEN_<AGENT>) before the shared one', async () => {
    const cardUrl = await echoAgent('partner-token')
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
    const cardUrl = await echoAgent('t')
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
})
