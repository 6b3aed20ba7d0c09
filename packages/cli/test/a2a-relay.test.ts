import { join } from 'node:path'
import { Role, TaskState } from '@a2a-js/sdk'
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client'
import { relayConfig, startRelay } from '@agent-comm/relay'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanEnv, runCli, tempDir } from './helpers.js'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop()
})

describe('an A2A task answered from the command line', () => {
  it('is completed by the reply the agent sends with poll and send --reply-to', async () => {
    const dir = tempDir()
    const dataDir = join(dir, 'relay')
    const env = cleanEnv({ AGENT_COMM_RELAY_DATA_DIR: dataDir })
    const db = ['--db', join(dataDir, 'relay.db')]
    const created = await runCli(['relay', 'a2a-token', 'create', 'acme'], { cwd: dir, env })
    expect(created.code).toBe(0)
    const token = created.stdout.trim()
    const registered = await runCli(
      ['register', 'helper', '-c', 'answer', '-d', 'relay', '--a2a-skill', 'answer|Answer', ...db],
      { cwd: dir, env },
    )
    expect(registered.code).toBe(0)
    const relay = await startRelay(relayConfig({ dataDir, port: 0, logLevel: 'silent' }))
    stops.push(() => relay.close())

    const fetchImpl: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers)
      headers.set('authorization', `Bearer ${token}`)
      return fetch(input, { ...init, headers })
    }
    const client = await new ClientFactory({
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
    }).createFromUrl(`${relay.url}/a2a/helper/`)
    const sent = (await client.sendMessage({
      tenant: '',
      message: {
        messageId: 'm-1',
        contextId: '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [
          {
            content: { $case: 'text', value: 'What is 6 x 7?' },
            metadata: undefined,
            filename: '',
            mediaType: '',
          },
        ],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: {
        acceptedOutputModes: [],
        taskPushNotificationConfig: undefined,
        returnImmediately: true,
      },
      metadata: undefined,
    })) as { id: string }

    const polled = await runCli(['poll', 'helper', '--json', ...db], { cwd: dir, env })
    expect(polled.code).toBe(0)
    const [claimed] = JSON.parse(polled.stdout).messages as {
      message: { id: string; fromAgent: string; body: string }
    }[]
    expect(claimed?.message).toMatchObject({ fromAgent: 'a2a:acme', body: 'What is 6 x 7?' })
    const replied = await runCli(
      ['send', 'helper', 'a2a:acme', '42', '--reply-to', claimed!.message.id, ...db],
      {
        cwd: dir,
        env,
      },
    )
    expect(replied.code).toBe(0)
    expect((await runCli(['ack', claimed!.message.id, 'helper', ...db], { cwd: dir, env })).code).toBe(0)
    await expect
      .poll(async () => (await client.getTask({ tenant: '', id: sent.id })).status?.state)
      .toBe(TaskState.TASK_STATE_COMPLETED)
    const task = await client.getTask({ tenant: '', id: sent.id })
    expect(task.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: '42' })
  })
})
