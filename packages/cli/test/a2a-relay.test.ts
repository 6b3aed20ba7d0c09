import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { TaskState } from '@a2a-js/sdk'
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client'
import { relayConfig, startRelay } from '@agent-comm/relay'
import { userMessage } from '@agent-comm/test-support/a2a-agent'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanEnv, runCli, tempDir } from './helpers.js'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop()
})

type A2AClient = Awaited<ReturnType<ClientFactory['createFromUrl']>>

/** An A2A caller's question, returned at once (the task is answered later). */
async function ask(client: A2AClient, messageId: string, text: string): Promise<{ id: string }> {
  return (await client.sendMessage({
    tenant: '',
    message: userMessage(text, { messageId }),
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
      returnImmediately: true,
    },
    metadata: undefined,
  })) as { id: string }
}

/** An A2A client of `url` holding `token`. */
function a2aClient(url: string, token: string): Promise<A2AClient> {
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers)
    headers.set('authorization', `Bearer ${token}`)
    return fetch(input, { ...init, headers })
  }
  return new ClientFactory({ transports: [new JsonRpcTransportFactory({ fetchImpl })] }).createFromUrl(url)
}

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

    const client = await a2aClient(`${relay.url}/a2a/helper/`, token)
    const sent = await ask(client, 'm-1', 'What is 6 x 7?')

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

  it('is completed by `reply` from an http agent on another machine, which goes through its relay', async () => {
    const relayDir = tempDir()
    const dataDir = join(relayDir, 'relay')
    const relayEnv = cleanEnv({ AGENT_COMM_RELAY_DATA_DIR: dataDir })
    const token = (
      await runCli(['relay', 'a2a-token', 'create', 'acme'], { cwd: relayDir, env: relayEnv })
    ).stdout.trim()
    const onRelay = ['--db', join(dataDir, 'relay.db')]
    expect(
      (
        await runCli(
          ['register', 'helper', '-c', 'answer', '-d', 'relay', '--a2a-skill', 'answer|Answer', ...onRelay],
          {
            cwd: relayDir,
            env: relayEnv,
          },
        )
      ).code,
    ).toBe(0)
    const gen = await runCli(['relay', 'gen-secret', 'helper', '--json'], { cwd: relayDir, env: relayEnv })
    const { secret } = JSON.parse(gen.stdout) as { secret: string }
    const relay = await startRelay(relayConfig({ dataDir, port: 0, logLevel: 'silent' }))
    stops.push(() => relay.close())
    // The agent's own machine: its database knows helper as an http agent behind that relay.
    const laptop = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: join(laptop, 'local.db'), AGENT_COMM_SECRET_HELPER: secret })
    const local = (args: string[]) => runCli(args, { cwd: laptop, env })
    const registered = await local([
      'register',
      'helper',
      '-c',
      'answer',
      '-d',
      'laptop',
      '--transport-type',
      'http',
      '--relay-url',
      relay.url,
    ])
    expect(registered.code, registered.stderr).toBe(0)
    const client = await a2aClient(`${relay.url}/a2a/helper/`, token)
    const sent = await ask(client, 'm-2', 'What is 6 x 7?')
    const polled = await local(['poll', 'helper', '--json'])
    expect(polled.code, polled.stderr).toBe(0)
    const [claimed] = JSON.parse(polled.stdout).messages as { message: { id: string; fromAgent: string } }[]
    expect(claimed?.message.fromAgent).toBe('a2a:acme')
    const replied = await local(['reply', claimed!.message.id, 'helper', '42', '--json'])
    expect(replied.code, replied.stderr).toBe(0)
    expect(JSON.parse(replied.stdout)).toMatchObject({
      routes: [{ transport: 'http', recipients: ['a2a:acme'] }],
    })
    expect((await local(['ack', claimed!.message.id, 'helper'])).code).toBe(0)
    await expect
      .poll(async () => (await client.getTask({ tenant: '', id: sent.id })).status?.state)
      .toBe(TaskState.TASK_STATE_COMPLETED)
    const task = await client.getTask({ tenant: '', id: sent.id })
    expect(task.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: '42' })
    // Nothing stayed behind in the laptop's own database.
    expect(JSON.parse((await local(['stats'])).stdout)).toMatchObject({ totalMessages: 0 })
  })

  it('publishes the card of an agent registered from its own machine with --at-relay, and only then', async () => {
    const relayDir = tempDir()
    const dataDir = join(relayDir, 'relay')
    const relayEnv = cleanEnv({ AGENT_COMM_RELAY_DATA_DIR: dataDir })
    const gen = await runCli(['relay', 'gen-secret', 'helper', '--json'], { cwd: relayDir, env: relayEnv })
    const { secret } = JSON.parse(gen.stdout) as { secret: string }
    const relay = await startRelay(relayConfig({ dataDir, port: 0, logLevel: 'silent' }))
    stops.push(() => relay.close())
    const card = () => fetch(`${relay.url}/a2a/helper/.well-known/agent-card.json`)
    const laptop = tempDir()
    const profile = ['register', 'helper', '-c', 'answer', '-d', 'laptop', '--transport-type', 'http']
    const withSkill = [...profile, '--relay-url', relay.url, '--a2a-skill', 'answer|Answer questions']
    const env = cleanEnv({ AGENT_COMM_DB_PATH: join(laptop, 'local.db'), AGENT_COMM_SECRET_HELPER: secret })

    // Without --at-relay only the laptop's database has the profile, and the command says what to add.
    const local = await runCli(withSkill, { cwd: laptop, env })
    expect(local.code, local.stderr).toBe(0)
    expect(local.stderr).toContain('add --at-relay to register this profile there too')
    expect((await card()).status).toBe(404)

    // --at-relay without the agent's secret here writes nothing and says which variable to set.
    const noSecret = await runCli([...withSkill, '--at-relay'], {
      cwd: laptop,
      env: cleanEnv({ AGENT_COMM_DB_PATH: join(laptop, 'other.db') }),
    })
    expect(noSecret.code).toBe(2)
    expect(noSecret.stderr).toContain("No relay secret for agent 'helper'")
    expect(noSecret.stderr).toContain('AGENT_COMM_SECRET_HELPER')
    expect(existsSync(join(laptop, 'other.db'))).toBe(false)

    // With it, signed as helper: the relay's registry has the profile and publishes the skill.
    const registered = await runCli([...withSkill, '--at-relay', '--json'], { cwd: laptop, env })
    expect(registered.code, registered.stderr).toBe(0)
    expect(JSON.parse(registered.stdout)).toMatchObject({
      agent: { agentId: 'helper', transport: 'http' },
      relay: { url: relay.url, registered: true },
    })
    const published = await card()
    expect(published.status).toBe(200)
    expect(((await published.json()) as { skills: { id: string }[] }).skills).toMatchObject([
      { id: 'answer' },
    ])

    // A relay that cannot be reached: the local registration stands, the command fails and says so.
    const unreachable = await runCli([...profile, '--relay-url', 'http://127.0.0.1:9', '--at-relay'], {
      cwd: laptop,
      env: { ...env, AGENT_COMM_DB_PATH: join(laptop, 'third.db') },
    })
    expect(unreachable.code).not.toBe(0)
    expect(unreachable.stderr).toContain(
      'Registered helper in this database, but not at its relay http://127.0.0.1:9',
    )
    expect(unreachable.stderr).toContain('Check that the relay is up')
    const agents = await runCli(['agents', '--json'], {
      cwd: laptop,
      env: { ...env, AGENT_COMM_DB_PATH: join(laptop, 'third.db') },
    })
    expect(JSON.parse(agents.stdout).agents).toMatchObject([{ agentId: 'helper', transport: 'http' }])
  })
})
