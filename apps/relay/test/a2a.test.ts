import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { TaskState } from '@a2a-js/sdk'
import { type Client, ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client'
import { A2ATokens, callerAgentId, SqliteA2AStore } from '@agent-comm/a2a'
import { BridgeRunner, FunctionBridge } from '@agent-comm/bridge'
import { createCoordinator, loadConfig } from '@agent-comm/coordinator'
import type { JsonObject } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { Spool } from '@agent-comm/spool'
import { userMessage } from '@agent-comm/test-support/a2a-agent'
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { RELAY_DB_FILE, type RelayConfig, relayConfig, startRelay } from '../src/index.js'
import { onCleanup, submit, tempDir } from './helpers.js'

/** A relay on an ephemeral port, an agent `helper` that opted in to A2A, and a token for caller `acme`. */
async function setUp(dataDir = tempDir(), fields: Partial<RelayConfig> = {}) {
  const relay = await startRelay(relayConfig({ dataDir, port: 0, logLevel: 'silent', ...fields }))
  onCleanup(() => relay.close())
  // The agent's side: the relay's own database, as a local agent-comm consumer sees it.
  const spool = await Spool.open({ path: join(dataDir, RELAY_DB_FILE) })
  onCleanup(() => spool.close())
  const registry = await Registry.open({ spool })
  await registry.register({
    agentId: 'helper',
    capabilities: ['answer'],
    metadata: { a2a: { skills: [{ id: 'answer', name: 'Answer questions', tags: ['qa'] }] } },
  })
  const tokens = new A2ATokens(spool.openShared(SqliteA2AStore.shared()))
  const { token } = await tokens.create('acme')
  return { relay, spool, registry, tokens, token, dataDir }
}

async function clientFor(url: string, agent: string, token: string): Promise<Client> {
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers)
    headers.set('authorization', `Bearer ${token}`)
    return fetch(input, { ...init, headers })
  }
  const factory = new ClientFactory({ transports: [new JsonRpcTransportFactory({ fetchImpl })] })
  return factory.createFromUrl(`${url}/a2a/${agent}/`)
}

/** The agent's loop: claims its next message and answers it with `answer(body)`. */
async function answerOnce(
  spool: Spool,
  answer: (body: string) => { body: string; metadata?: JsonObject },
): Promise<string> {
  for (;;) {
    const [claimed] = await spool.claim('helper', { limit: 1 })
    if (claimed === undefined) {
      await spool.waitForMessages('helper', { timeoutMs: 200 })
      continue
    }
    const { message, lease } = claimed
    const reply = answer(message.body)
    await spool.send({
      fromAgent: 'helper',
      toAgent: message.fromAgent,
      body: reply.body,
      routing: { replyTo: message.id, conversationId: message.routing.conversationId },
      ...(reply.metadata === undefined ? {} : { metadata: reply.metadata }),
    })
    await spool.ack(message.id, 'helper', { receipt: lease.receipt })
    return message.id
  }
}

interface CardJson {
  name: string
  skills: { id: string; name: string; tags: string[] }[]
  supportedInterfaces: { url: string; protocolBinding: string; protocolVersion: string }[]
  securitySchemes: Record<string, unknown>
}

async function rpc(url: string, body: unknown, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return {
    status: response.status,
    body: (await response.json()) as { error?: { code: number }; result?: unknown },
  }
}

describe('A2A on the relay', () => {
  it('serves the agent card and the directory card', async () => {
    const { relay } = await setUp()
    const card = (await (
      await fetch(`${relay.url}/a2a/helper/.well-known/agent-card.json`)
    ).json()) as CardJson
    expect(card.name).toBe('helper')
    expect(card.skills[0]).toMatchObject({ id: 'answer', name: 'Answer questions', tags: ['qa'] })
    expect(card.supportedInterfaces[0]).toMatchObject({
      url: `${relay.url}/a2a/helper`,
      protocolBinding: 'JSONRPC',
      protocolVersion: '1.0',
    })
    expect(Object.keys(card.securitySchemes)).toEqual(['a2aToken'])
    const directory = (await (await fetch(`${relay.url}/.well-known/agent-card.json`)).json()) as CardJson
    expect(directory.skills.map((s: { id: string }) => s.id)).toEqual(['helper'])
    expect((await fetch(`${relay.url}/a2a/nobody/.well-known/agent-card.json`)).status).toBe(404)
  })

  it('names the public URL on its cards behind a proxy, whatever Host or X-Forwarded-Host a client sends', async () => {
    const { relay } = await setUp(tempDir(), {
      trustProxy: '127.0.0.1',
      publicUrl: 'https://relay.example.com/',
    })
    const forged = {
      host: 'attacker.example',
      'x-forwarded-host': 'attacker.example',
      'x-forwarded-proto': 'http',
    }
    const card = (await (
      await fetch(`${relay.url}/a2a/helper/.well-known/agent-card.json`, { headers: forged })
    ).json()) as CardJson
    expect(card.supportedInterfaces[0]?.url).toBe('https://relay.example.com/a2a/helper')
    const directory = await (
      await fetch(`${relay.url}/.well-known/agent-card.json`, { headers: forged })
    ).text()
    expect(directory).toContain('https://relay.example.com/a2a/helper/.well-known/agent-card.json')
    expect(directory).not.toContain('attacker.example')
  })

  it('completes a task with the agent-comm agent reply as its artifact', async () => {
    const { relay, spool, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const answering = answerOnce(spool, (body) => ({ body: `echo: ${body}` }))
    const result = await client.sendMessage({
      tenant: '',
      message: userMessage('hello'),
      configuration: undefined,
      metadata: undefined,
    })
    await answering
    expect('id' in result).toBe(true)
    const task = await client.getTask({ tenant: '', id: (result as { id: string }).id })
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    expect(task.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'echo: hello' })
    // The caller is a2a:acme in the spool, never an agent-comm agent.
    const [sent] = await spool.search({ from: callerAgentId('acme') })
    expect(sent?.fromAgent).toBe('a2a:acme')
  })

  it('completes a task answered by a bridge on the coordinator', async () => {
    const { relay, dataDir, token } = await setUp()
    const coordinator = await createCoordinator(
      loadConfig({ AGENT_COMM_DB_PATH: join(dataDir, RELAY_DB_FILE) }),
    )
    onCleanup(() => coordinator.close())
    const client = await clientFor(relay.url, 'helper', token)
    const sent = (await submit(client, userMessage('via bridge'))) as { id: string }
    const bridge = new FunctionBridge(async (message) => `bridged: ${message.body}`)
    const summary = await new BridgeRunner({ coordinator, agent: 'helper', bridge }).run({ once: true })
    expect(summary).toMatchObject({ processed: 1, succeeded: 1 })
    await expect
      .poll(async () => (await client.getTask({ tenant: '', id: sent.id })).status?.state)
      .toBe(TaskState.TASK_STATE_COMPLETED)
    const task = await client.getTask({ tenant: '', id: sent.id })
    expect(task.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'bridged: via bridge' })
  })

  it('resumes a stream after the last event id it saw', async () => {
    const { relay, spool, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const answering = answerOnce(spool, () => ({ body: 'resumed' }))
    const sent = (await client.sendMessage({
      tenant: '',
      message: userMessage('resume me'),
      configuration: undefined,
      metadata: undefined,
    })) as { id: string }
    await answering
    const response = await fetch(`${relay.url}/a2a/helper`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'a2a-version': '1.0',
        'last-event-id': '1',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'SubscribeToTask', params: { id: sent.id } }),
    })
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const text = await response.text()
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    // Event 1 (the task) was seen; the rest follow in order, ending with completed.
    expect(ids[0]).toBe(2)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(text).toContain('TASK_STATE_COMPLETED')
  })

  it('streams submitted, working, the artifact and completed in order', async () => {
    const { relay, spool, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const answering = answerOnce(spool, () => ({ body: 'done' }))
    const kinds: string[] = []
    for await (const event of client.sendMessageStream({
      tenant: '',
      message: userMessage('stream please'),
      configuration: undefined,
      metadata: undefined,
    })) {
      const payload = event.payload
      if (payload?.$case === 'statusUpdate') kinds.push(`status:${payload.value.status?.state}`)
      else kinds.push(payload?.$case ?? 'none')
    }
    await answering
    expect(kinds[0]).toBe('task')
    expect(kinds.slice(-2)).toEqual(['artifactUpdate', `status:${TaskState.TASK_STATE_COMPLETED}`])
  })

  it('answers a message sent again with the same messageId with its first task, delivering it once', async () => {
    const { relay, spool, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const message = userMessage('only once')
    const first = (await submit(client, message)) as { id: string }
    // A client retrying after a timeout: the same task, nothing new for the agent.
    expect(((await submit(client, message)) as { id: string }).id).toBe(first.id)
    // Sent five times at once: still one task.
    const raced = userMessage('raced')
    const racing = await Promise.all([1, 2, 3, 4, 5].map(() => submit(client, raced)))
    expect(new Set(racing.map((task) => (task as { id: string }).id)).size).toBe(1)
    const claimed = await spool.claim('helper', { limit: 10 })
    expect(claimed.map((c) => c.message.body).sort()).toEqual(['only once', 'raced'])
    // The same id with other content is refused, naming what to do.
    const reused = await rpc(
      `${relay.url}/a2a/helper`,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: {
          message: { messageId: message.messageId, role: 'ROLE_USER', parts: [{ text: 'something else' }] },
          configuration: { returnImmediately: true },
        },
      },
      { authorization: `Bearer ${token}`, 'a2a-version': '1.0' },
    )
    expect(reused.body.error).toMatchObject({
      code: -32602,
      message: expect.stringMatching(/messageId '.+' was already used for another message/),
    })
    // Once the agent answered, a retry (blocking or streaming) answers with the completed task.
    const held = claimed.find((c) => c.message.body === 'only once')!
    await spool.send({
      fromAgent: 'helper',
      toAgent: held.message.fromAgent,
      body: 'answered once',
      routing: { replyTo: held.message.id },
    })
    await spool.ack(held.message.id, 'helper', { receipt: held.lease.receipt })
    const retried = (await client.sendMessage({
      tenant: '',
      message,
      configuration: undefined,
      metadata: undefined,
    })) as { id: string; status?: { state: TaskState }; artifacts: unknown[] }
    expect(retried).toMatchObject({ id: first.id, status: { state: TaskState.TASK_STATE_COMPLETED } })
    expect(retried.artifacts).toHaveLength(1)
    const streamed: unknown[] = []
    for await (const event of client.sendMessageStream({
      tenant: '',
      message,
      configuration: undefined,
      metadata: undefined,
    })) {
      streamed.push(event)
    }
    expect(streamed).toMatchObject([
      {
        payload: {
          $case: 'task',
          value: { id: first.id, status: { state: TaskState.TASK_STATE_COMPLETED } },
        },
      },
    ])
    expect(await spool.claim('helper', { limit: 10 })).toEqual([])
  })

  it('lets a caller read, follow and cancel its tasks after their agent is deregistered, and says why a new message is refused', async () => {
    const { relay, spool, registry, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const answering = answerOnce(spool, () => ({ body: 'last words' }))
    const done = (await client.sendMessage({
      tenant: '',
      message: userMessage('before leaving'),
      configuration: undefined,
      metadata: undefined,
    })) as { id: string }
    await answering
    const open = (await submit(client, userMessage('never answered'))) as { id: string }
    await registry.deregister('helper')
    const call = (method: string, params: unknown, headers: Record<string, string> = {}) =>
      fetch(`${relay.url}/a2a/helper`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'a2a-version': '1.0',
          ...headers,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      })
    // A new message: refused, saying the tasks already sent can still be read.
    const refused = await call('SendMessage', {
      message: { messageId: 'm-after', role: 'ROLE_USER', parts: [{ text: 'anyone?' }] },
    })
    expect(refused.status).toBe(404)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /No A2A agent 'helper'.*Tasks already sent to it can still be read: GetTask/,
    )
    // Its tasks: read as they ended, listed, the open one canceled, the stream replayed.
    const task = await client.getTask({ tenant: '', id: done.id, historyLength: undefined })
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    expect(JSON.stringify(task.artifacts)).toContain('last words')
    const listed = (await (await call('ListTasks', {})).json()) as { result: { tasks: { id: string }[] } }
    expect(listed.result.tasks.map((t) => t.id).sort()).toEqual([done.id, open.id].sort())
    const canceled = await client.cancelTask({ tenant: '', id: open.id, metadata: undefined })
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED)
    const replay = await call('SubscribeToTask', { id: done.id }, { 'last-event-id': '0' })
    expect(replay.headers.get('content-type')).toContain('text/event-stream')
    expect(await replay.text()).toContain('TASK_STATE_COMPLETED')
    // Another caller's task, or none, is still not found.
    const unknown = (await (await call('GetTask', { id: 'no-such-task' })).json()) as {
      error: { code: number }
    }
    expect(unknown.error.code).toBe(-32001)
  })

  it("lists a caller's tasks with an agent although its newer tasks with other agents fill the page", async () => {
    const { relay, registry, token } = await setUp()
    await registry.register({ agentId: 'other', metadata: { a2a: { skills: [{ id: 'other' }] } } })
    const helper = await clientFor(relay.url, 'helper', token)
    const other = await clientFor(relay.url, 'other', token)
    const mine = (await submit(helper, userMessage('for helper'))) as { id: string }
    for (const n of [1, 2]) await submit(other, userMessage(`for other ${n}`))
    const listed = await helper.listTasks({
      tenant: '',
      contextId: '',
      status: 0,
      pageSize: 1,
      pageToken: '',
      historyLength: undefined,
      statusTimestampAfter: undefined,
      includeArtifacts: false,
    } as Parameters<typeof helper.listTasks>[0])
    expect(listed.tasks.map((t) => t.id)).toEqual([mine.id])
  })

  it('lists tasks changed at or after statusTimestampAfter, with artifacts only when asked and historyLength messages', async () => {
    const { relay, spool, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const answering = answerOnce(spool, () => ({ body: 'the answer' }))
    const done = (await client.sendMessage({
      tenant: '',
      message: userMessage('a question'),
      configuration: undefined,
      metadata: undefined,
    })) as { id: string; status: { timestamp: string } }
    await answering
    // Nobody claims it: it stays submitted, as it was sent.
    const open = (await submit(client, userMessage('never answered'))) as {
      id: string
      status: { timestamp: string }
    }
    type Listed = {
      id: string
      artifacts?: { parts: unknown[] }[]
      history?: { role: string }[]
    }
    const list = async (params: Record<string, unknown>) => {
      const response = await rpc(
        `${relay.url}/a2a/helper`,
        { jsonrpc: '2.0', id: 1, method: 'ListTasks', params },
        { authorization: `Bearer ${token}`, 'a2a-version': '1.0' },
      )
      expect(response.body.error).toBeUndefined()
      return response.body.result as { tasks: Listed[]; totalSize: number; nextPageToken: string }
    }
    const answered = async (params: Record<string, unknown>) =>
      (await list(params)).tasks.find((t) => t.id === done.id)
    // A2A: artifacts are left out unless includeArtifacts; history is all of it unless historyLength.
    expect(await answered({})).not.toHaveProperty('artifacts')
    expect((await answered({}))?.history?.map((m) => m.role)).toEqual(['ROLE_USER', 'ROLE_AGENT'])
    expect(JSON.stringify((await answered({ includeArtifacts: true }))?.artifacts)).toContain('the answer')
    expect(await answered({ includeArtifacts: false })).not.toHaveProperty('artifacts')
    expect((await answered({ historyLength: 1 }))?.history?.map((m) => m.role)).toEqual(['ROLE_AGENT'])
    expect(await answered({ historyLength: 0 })).not.toHaveProperty('history')
    // The filter is on the status timestamp, "at or after": a task's own time lists it, a ms later not.
    const since = (at: string | number) =>
      list({ statusTimestampAfter: typeof at === 'string' ? at : new Date(at).toISOString() })
    const openAt = Date.parse(open.status.timestamp)
    expect((await since(openAt)).tasks.map((t) => t.id)).toContain(open.id)
    expect(await since(openAt + 1)).toMatchObject({ tasks: [], totalSize: 0, nextPageToken: '' })
    const doneAt = Date.parse(
      (await client.getTask({ tenant: '', id: done.id, historyLength: undefined })).status!.timestamp!,
    )
    const fromDone = await since(doneAt)
    expect(fromDone.tasks.map((t) => t.id)).toContain(done.id)
    expect(fromDone.totalSize).toBe(fromDone.tasks.length)
    expect((await since('2000-01-01T00:00:00Z')).totalSize).toBe(2)
    // Paged: the token goes on with the same statusTimestampAfter, and no other.
    const first = await list({ pageSize: 1, statusTimestampAfter: '2000-01-01T00:00:00Z' })
    expect(first.nextPageToken).not.toBe('')
    const next = await list({
      pageSize: 1,
      statusTimestampAfter: '2000-01-01T00:00:00Z',
      pageToken: first.nextPageToken,
    })
    expect([...first.tasks, ...next.tasks].map((t) => t.id).sort()).toEqual([done.id, open.id].sort())
    for (const other of [{ statusTimestampAfter: '2000-01-01T00:00:00.001Z' }, {}]) {
      const refused = await rpc(
        `${relay.url}/a2a/helper`,
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'ListTasks',
          params: { pageSize: 1, pageToken: first.nextPageToken, ...other },
        },
        { authorization: `Bearer ${token}`, 'a2a-version': '1.0' },
      )
      expect(refused.body.error, JSON.stringify(other)).toMatchObject({ code: -32602 })
    }
  })

  it("never lets another caller's token reach a task: not by its id, not by sending the same messageId", async () => {
    const { relay, spool, tokens, token } = await setUp()
    const acme = await clientFor(relay.url, 'helper', token)
    const evil = await clientFor(relay.url, 'helper', (await tokens.create('evil')).token)
    const message = userMessage('acme only')
    const sent = (await submit(acme, message)) as { id: string }
    // The same message id (and content) from another caller is that caller's own message: a task of its own.
    const copied = (await submit(evil, message)) as { id: string }
    expect(copied.id).not.toBe(sent.id)
    await expect(acme.getTask({ tenant: '', id: copied.id, historyLength: undefined })).rejects.toThrow(
      /not found/i,
    )
    await expect(evil.cancelTask({ tenant: '', id: sent.id, metadata: undefined })).rejects.toThrow(
      /not found/i,
    )
    await expect(submit(evil, userMessage('continue it', { taskId: sent.id }))).rejects.toThrow(/not found/i)
    const streamed = evil.resubscribeTask({ tenant: '', id: sent.id })
    await expect(streamed.next()).rejects.toThrow(/not found/i)
    const listed = await evil.listTasks({
      tenant: '',
      contextId: '',
      status: 0,
      pageSize: 50,
      pageToken: '',
      historyLength: undefined,
      statusTimestampAfter: undefined,
      includeArtifacts: false,
    } as Parameters<typeof evil.listTasks>[0])
    expect(listed.tasks.map((t) => t.id)).toEqual([copied.id])
    expect((await acme.getTask({ tenant: '', id: sent.id, historyLength: undefined })).status?.state).toBe(
      TaskState.TASK_STATE_SUBMITTED,
    )
    expect((await spool.claim('helper', { limit: 10 })).map((c) => c.message.fromAgent).sort()).toEqual([
      'a2a:acme',
      'a2a:evil',
    ])
  })

  it('cancels a task the agent has not answered, taking its message back from the agent queue', async () => {
    const { relay, spool, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const sent = await submit(client, userMessage('never answered'))
    const id = (sent as { id: string }).id
    const canceled = await client.cancelTask({ tenant: '', id, metadata: undefined })
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED)
    await expect(client.cancelTask({ tenant: '', id, metadata: undefined })).rejects.toThrow()
    // The queued delivery is gone from the agent's queue, with the reason; settled, not a dead letter that
    // `agent-comm failed` lists and `agent-comm retry` would hand back to the agent.
    expect(await spool.claim('helper', { limit: 10 })).toEqual([])
    expect(await spool.listFailed({ agent: 'helper' })).toEqual([])
    const messageId = spool.openShared(SqliteA2AStore.shared()).getTask(id)!.messageId
    const [delivery] = (await spool.status(messageId)).deliveries
    expect(delivery?.lastError).toMatch(/canceled by its caller/)
    await expect(spool.retryFailed(messageId)).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringMatching(/withdrawn by its sender/),
    })
    expect(await spool.claim('helper', { limit: 10 })).toEqual([])
  })

  it('refuses the ack of an agent that held the message of a task canceled meanwhile', async () => {
    const { relay, spool, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const sent = (await submit(client, userMessage('slow work'))) as { id: string }
    const [claimed] = await spool.claim('helper', { limit: 1 })
    expect(claimed).toBeDefined()
    await client.cancelTask({ tenant: '', id: sent.id, metadata: undefined })
    await expect(
      spool.ack(claimed!.message.id, 'helper', { receipt: claimed!.lease.receipt }),
    ).rejects.toThrow()
    const status = await spool.status(claimed!.message.id)
    expect(status.deliveries.find((d) => d.recipient === 'helper')?.status).toBe('failed')
    const task = await client.getTask({ tenant: '', id: sent.id, historyLength: undefined })
    expect(task.status?.state).toBe(TaskState.TASK_STATE_CANCELED)
  })

  it('continues an input-required task with the next message in its context', async () => {
    const { relay, spool, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const asking = answerOnce(spool, () => ({
      body: 'Which city?',
      metadata: { a2a: { state: 'input-required' } },
    }))
    const first = (await client.sendMessage({
      tenant: '',
      message: userMessage('weather please'),
      configuration: undefined,
      metadata: undefined,
    })) as { id: string; contextId: string; status?: { state: TaskState } }
    await asking
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED)
    const answering = answerOnce(spool, (body) => ({ body: `sunny in ${body}` }))
    const second = (await client.sendMessage({
      tenant: '',
      message: userMessage('Paris', { contextId: first.contextId, taskId: first.id }),
      configuration: undefined,
      metadata: undefined,
    })) as { id: string; status?: { state: TaskState }; artifacts: { parts: { content?: unknown }[] }[] }
    await answering
    expect(second.id).toBe(first.id)
    expect(second.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    expect(second.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'sunny in Paris' })
  })

  it('answers GetTask and SubscribeToTask the same after a restart mid-task', async () => {
    const dataDir = tempDir()
    const first = await setUp(dataDir)
    let client = await clientFor(first.relay.url, 'helper', first.token)
    const sent = (await submit(client, userMessage('survive a restart'))) as { id: string }
    await first.relay.close()
    const relay = await startRelay(relayConfig({ dataDir, port: 0, logLevel: 'silent' }))
    onCleanup(() => relay.close())
    client = await clientFor(relay.url, 'helper', first.token)
    expect((await client.getTask({ tenant: '', id: sent.id })).status?.state).toBe(
      TaskState.TASK_STATE_SUBMITTED,
    )
    let answering: Promise<string> | undefined
    const states: number[] = []
    for await (const event of client.resubscribeTask({ tenant: '', id: sent.id })) {
      // Answered once the subscription is open (its first event is the task as it stands): answered
      // before, a loaded machine could complete the task ahead of the subscribe, leaving nothing to follow.
      answering ??= answerOnce(first.spool, () => ({ body: 'after restart' }))
      if (event.payload?.$case === 'statusUpdate') states.push(event.payload.value.status?.state ?? 0)
    }
    await answering
    expect(states.at(-1)).toBe(TaskState.TASK_STATE_COMPLETED)
    expect((await client.getTask({ tenant: '', id: sent.id })).status?.state).toBe(
      TaskState.TASK_STATE_COMPLETED,
    )
  })

  it('pushes the task events to the caller webhook in order, with its token, retrying a failure', async () => {
    // The webhook is on loopback, which the relay refuses unless its operator allows it.
    const { relay, spool, token, dataDir } = await setUp(tempDir(), { a2aPushAllow: true })
    const received: { token: string | undefined; body: string; jwt: string }[] = []
    let requests = 0
    const webhook = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        requests++
        // The first attempt fails: the outbox retries it, and later events wait for it.
        if (requests === 1) return response.writeHead(503).end()
        received.push({
          token: request.headers['x-a2a-notification-token'] as string | undefined,
          body,
          jwt: String(request.headers['x-a2a-notification-signature']),
        })
        response.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => webhook.close(() => resolve())))
    const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`
    const client = await clientFor(relay.url, 'helper', token)
    const answering = answerOnce(spool, () => ({ body: 'pushed' }))
    await client.sendMessage({
      tenant: '',
      message: userMessage('push please'),
      configuration: {
        acceptedOutputModes: [],
        taskPushNotificationConfig: {
          tenant: '',
          id: '',
          taskId: '',
          url: hook,
          token: 'hook-secret',
          authentication: undefined,
        },
        returnImmediately: true,
      },
      metadata: undefined,
    })
    await answering
    await expect.poll(() => received.at(-1)?.body ?? '').toContain('TASK_STATE_COMPLETED')
    expect(requests).toBe(received.length + 1)
    expect(received.every((r) => r.token === 'hook-secret')).toBe(true)
    expect(Object.keys(JSON.parse(received[0]!.body))).toEqual(['task'])
    // Each push is signed; the webhook verifies it against the JWKS the relay publishes.
    const jwksUrl = new URL(`${relay.url}/.well-known/jwks.json`)
    const keys = createRemoteJWKSet(jwksUrl)
    for (const push of received) {
      const { payload } = await jwtVerify(push.jwt, keys, { audience: hook, maxTokenAge: '5m' })
      expect(payload.request_body_sha256).toBe(createHash('sha256').update(push.body).digest('hex'))
    }
    // The key survives a restart: its private half sealed in relay.db under <data-dir>/secrets.key.
    const published = await (await fetch(jwksUrl)).json()
    await relay.close()
    const restarted = await startRelay(relayConfig({ dataDir, port: 0, logLevel: 'silent' }))
    onCleanup(() => restarted.close())
    const again = await (await fetch(`${restarted.url}/.well-known/jwks.json`)).json()
    expect(again).toEqual(published)
    await expect(
      jwtVerify(received[0]!.jwt, createLocalJWKSet(again as { keys: [] }), { audience: hook }),
    ).resolves.toBeDefined()
  })

  it('refuses push webhooks on internal addresses or other schemes, unless the operator allows the host', async () => {
    const { relay, token } = await setUp()
    const send = (url: string) =>
      fetch(`${relay.url}/a2a/helper`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'a2a-version': '1.0',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'SendMessage',
          params: {
            message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hi' }] },
            configuration: { returnImmediately: true, taskPushNotificationConfig: { url, token: 't' } },
          },
        }),
      }).then((r) => r.json() as Promise<{ error?: { code: number; message: string }; result?: unknown }>)
    for (const url of [
      'http://127.0.0.1:9/hook',
      'http://localhost/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://10.1.2.3/hook',
      'http://192.168.0.1/hook',
      'http://[::1]/hook',
      'http://[fe80::1]/hook',
      'http://[fd00::1]/hook',
      'http://0.0.0.0/hook',
      'http://224.0.0.1/hook',
    ]) {
      const answer = await send(url)
      expect(answer.error?.code, url).toBe(-32602)
      expect(answer.error?.message, url).toMatch(/loopback, private, link-local/)
    }
    expect((await send('file:///etc/passwd')).error?.message).toMatch(/must be http\(s\)/)
    // A public address is taken (an IP literal: no DNS needed).
    expect((await send('https://203.0.113.7/hook')).result).toBeDefined()

    const allowing = await setUp(tempDir(), { a2aPushAllow: ['127.0.0.1'] })
    const allowed = await fetch(`${allowing.relay.url}/a2a/helper`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'a2a-version': '1.0',
        authorization: `Bearer ${allowing.token}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'SendMessage',
        params: {
          message: { messageId: 'm2', role: 'ROLE_USER', parts: [{ text: 'hi' }] },
          configuration: {
            returnImmediately: true,
            taskPushNotificationConfig: { url: 'http://127.0.0.1:9/hook', token: 't' },
          },
        },
      }),
    }).then((r) => r.json() as Promise<{ result?: unknown; error?: unknown }>)
    expect(allowed.error).toBeUndefined()
  })

  it('creates, lists, gets and deletes push configs of its own tasks only', async () => {
    const { relay, tokens, token } = await setUp()
    const client = await clientFor(relay.url, 'helper', token)
    const sent = (await submit(client, userMessage('configure me'))) as { id: string }
    const config = {
      tenant: '',
      id: 'hook-1',
      taskId: sent.id,
      url: 'https://hooks.test/a2a',
      token: 't',
      authentication: undefined,
    }
    expect(await client.createTaskPushNotificationConfig(config)).toMatchObject({
      id: 'hook-1',
      taskId: sent.id,
    })
    expect(
      (
        await client.listTaskPushNotificationConfig({
          tenant: '',
          taskId: sent.id,
          pageSize: 0,
          pageToken: '',
        })
      ).configs,
    ).toHaveLength(1)
    expect(
      await client.getTaskPushNotificationConfig({ tenant: '', taskId: sent.id, id: 'hook-1' }),
    ).toMatchObject({
      url: 'https://hooks.test/a2a',
    })
    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: sent.id, id: 'hook-1' })
    expect(
      (
        await client.listTaskPushNotificationConfig({
          tenant: '',
          taskId: sent.id,
          pageSize: 0,
          pageToken: '',
        })
      ).configs,
    ).toHaveLength(0)
    await expect(client.createTaskPushNotificationConfig({ ...config, url: 'ftp://nope' })).rejects.toThrow()
    const other = await clientFor(relay.url, 'helper', (await tokens.create('other')).token)
    await expect(other.createTaskPushNotificationConfig(config)).rejects.toThrow(/not found/i)
  })

  it('refuses NUL in a text part, a context id or a task id with invalid params, as on every store', async () => {
    const { relay, spool, token } = await setUp()
    const url = `${relay.url}/a2a/helper`
    const auth = { authorization: `Bearer ${token}`, 'a2a-version': '1.0' }
    const send = (message: Record<string, unknown>) =>
      rpc(url, { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message } }, auth)
    const message = { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hello' }] }
    const cases = [
      { ...message, parts: [{ text: 'a\u0000b' }] },
      { ...message, contextId: 'c\u0000' },
      { ...message, taskId: 't\u0000' },
    ]
    for (const bad of cases) {
      const answer = await send(bad)
      expect(answer.body.error?.code, JSON.stringify(bad)).toBe(-32602)
      expect((answer.body.error as { message?: string }).message).toMatch(
        /must not contain NUL characters \(U\+0000\)/,
      )
    }
    const get = { jsonrpc: '2.0', id: 2, method: 'GetTask', params: { id: 'x\u0000' } }
    expect((await rpc(url, get, auth)).body.error?.code).toBe(-32602)
    expect((await spool.stats()).totalMessages).toBe(0)
  })

  it('answers bad requests with the spec JSON-RPC errors, never a 500', async () => {
    const { relay, tokens, token } = await setUp()
    const url = `${relay.url}/a2a/helper`
    const auth = { authorization: `Bearer ${token}`, 'a2a-version': '1.0' }
    const get = { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'nope' } }
    expect((await rpc(url, get, { authorization: `Bearer ${token}` })).body.error?.code).toBe(-32009)
    expect((await rpc(url, get, { ...auth, 'a2a-version': '9.9' })).body.error?.code).toBe(-32009)
    expect((await rpc(url, get, auth)).body.error?.code).toBe(-32001)
    expect((await rpc(url, { ...get, method: 'Nope' }, auth)).body.error?.code).toBe(-32601)
    expect((await rpc(url, '{not json', auth)).body.error?.code).toBe(-32700)
    const badParts = {
      jsonrpc: '2.0',
      id: 2,
      method: 'SendMessage',
      params: { message: { messageId: 'm', role: 'ROLE_USER', parts: [{}] } },
    }
    expect((await rpc(url, badParts, auth)).body.error?.code).toBe(-32602)
    const huge = {
      ...badParts,
      params: { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'x'.repeat(2_000_000) }] } },
    }
    const oversized = await rpc(url, huge, auth)
    expect(oversized.status).toBe(413)
    expect(oversized.body.error?.code).toBe(-32600)
    expect((await rpc(url, get, { 'a2a-version': '1.0' })).status).toBe(401)
    // Another caller cannot see acme's task.
    const client = await clientFor(relay.url, 'helper', token)
    const sent = (await submit(client, userMessage('private'))) as { id: string }
    const other = await tokens.create('other')
    const theirs = await rpc(
      url,
      { ...get, params: { id: sent.id } },
      { ...auth, authorization: `Bearer ${other.token}` },
    )
    expect(theirs.body.error?.code).toBe(-32001)
    await tokens.revoke('acme')
    expect((await rpc(url, get, auth)).status).toBe(401)
  })

  it('answers SubscribeToTask and SendStreamingMessage for unknown, foreign or missing task ids with -32001, never a 500', async () => {
    const { relay, tokens, token } = await setUp()
    const url = `${relay.url}/a2a/helper`
    const auth = { authorization: `Bearer ${token}`, 'a2a-version': '1.0' }
    const client = await clientFor(relay.url, 'helper', token)
    const sent = (await submit(client, userMessage('mine'))) as { id: string }
    const other = { ...auth, authorization: `Bearer ${(await tokens.create('other')).token}` }
    const subscribe = (params: unknown) => ({ jsonrpc: '2.0', id: 3, method: 'SubscribeToTask', params })
    const continueTask = (taskId: string) => ({
      jsonrpc: '2.0',
      id: 4,
      method: 'SendStreamingMessage',
      params: { message: { messageId: 'm', role: 'ROLE_USER', taskId, parts: [{ text: 'more' }] } },
    })
    for (const [request, headers] of [
      [subscribe({ id: 'nope' }), auth],
      [subscribe({}), auth],
      [subscribe({ id: sent.id }), other],
      [continueTask('nope'), auth],
      [continueTask(sent.id), other],
    ] as const) {
      const answer = await rpc(url, request, headers)
      expect(answer.status, JSON.stringify(request)).toBe(200)
      expect(answer.body).toMatchObject({ id: request.id, error: { code: -32001 } })
    }
  })

  it('refuses free-form JSON over the protocol limits with invalid params, before decoding it', async () => {
    const { relay, spool, token } = await setUp()
    const url = `${relay.url}/a2a/helper`
    const auth = { authorization: `Bearer ${token}`, 'a2a-version': '1.0' }
    // As text: a value this deep is more than JSON.stringify can write.
    const nested = (levels: number) => `${'{"a":'.repeat(levels)}"bottom"${'}'.repeat(levels)}`
    const manyKeys = JSON.stringify(
      Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, i])),
    )
    /** A SendMessage whose message has these fields (JSON text) after its id and role. */
    const send = (fields: string) =>
      `{"jsonrpc":"2.0","id":5,"method":"SendMessage","params":{"configuration":{"returnImmediately":true},"message":{"messageId":"m","role":"ROLE_USER",${fields}}}}`
    const text = '"parts":[{"text":"hi"}]'
    const refusals: [string, RegExp][] = [
      [`"parts":[{"data":${nested(100_000)}}]`, /^params\.message\.parts\[0\]\.data is nested more than 64/],
      [`${text},"metadata":${nested(50_000)}`, /^params\.message\.metadata is nested more than 64 levels/],
      [`${text},"metadata":${nested(1000)}`, /^params\.message\.metadata is nested more than 64 levels/],
      [`${text},"extensions":${nested(100_000)}`, /^The request is nested more than 72 levels/],
      [
        `"parts":[{"text":${nested(100_000).replaceAll('{"a":', '[').replaceAll('}', ']')}}]`,
        /^The request is nested/,
      ],
      [`${text},"metadata":${nested(65)}`, /^params\.message\.metadata is nested more than 64 levels/],
      [
        `"parts":[{"text":"hi","metadata":${nested(65)}}]`,
        /^params\.message\.parts\[0\]\.metadata is nested/,
      ],
      [`"parts":[{"data":${nested(70)}}]`, /^params\.message\.parts\[0\]\.data is nested more than 64/],
      // The agent receives the parts four levels down (payload.data.a2a.parts[0].data): 61 is one too many.
      [`"parts":[{"data":${nested(61)}}]`, /^params\.message\.parts, as the agent receives them/],
      [`${text},"metadata":${manyKeys}`, /more than 10000 object keys/],
    ]
    for (const [fields, why] of refusals) {
      const answer = await rpc(url, send(fields), auth)
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({
        id: 5,
        error: { code: -32602, message: expect.stringMatching(why) },
      })
    }
    expect(await spool.claim('helper', { limit: 10 })).toEqual([])
    // At the limits the message is taken.
    const taken = await rpc(url, send(`"parts":[{"data":${nested(60)}}],"metadata":${nested(64)}`), auth)
    expect(taken.body.error).toBeUndefined()
    const [claimed] = await spool.claim('helper', { limit: 1 })
    expect(claimed?.message.payload?.type).toBe('task_assignment')
  })

  it('completes a task only with the reply of the agent it was sent to', async () => {
    const { relay, spool, registry, token } = await setUp()
    await registry.register({ agentId: 'alice', capabilities: ['chat'] })
    const client = await clientFor(relay.url, 'helper', token)
    const sent = (await submit(client, userMessage('for helper only'))) as { id: string }
    const [claimed] = await spool.claim('helper', { limit: 1 })
    const assignment = claimed!.message
    // alice learned the assignment's id and answers it in helper's place.
    const forged = await spool.send({
      fromAgent: 'alice',
      toAgent: assignment.fromAgent,
      body: 'forged answer',
      routing: { replyTo: assignment.id },
    })
    // The relay takes (acks) every message to the caller's inbox; alice's is then behind it.
    await expect.poll(async () => (await spool.status(forged.messageId)).deliveries[0]?.status).toBe('acked')
    const untouched = await client.getTask({ tenant: '', id: sent.id })
    expect(untouched.status?.state).toBe(TaskState.TASK_STATE_WORKING)
    expect(untouched.artifacts).toEqual([])
    expect(JSON.stringify(untouched)).not.toContain('forged answer')
    await spool.send({
      fromAgent: 'helper',
      toAgent: assignment.fromAgent,
      body: 'the real answer',
      routing: { replyTo: assignment.id },
    })
    await spool.ack(assignment.id, 'helper', { receipt: claimed!.lease.receipt })
    await expect
      .poll(async () => (await client.getTask({ tenant: '', id: sent.id })).status?.state)
      .toBe(TaskState.TASK_STATE_COMPLETED)
    const task = await client.getTask({ tenant: '', id: sent.id })
    expect(task.artifacts.map((a) => a.parts[0]?.content)).toEqual([
      { $case: 'text', value: 'the real answer' },
    ])
  })
})

describe('A2A waits per caller', () => {
  it("refuses a caller's blocking request over its waits with 429 before sending anything, and takes one again once a wait ends", async () => {
    const { relay, spool, tokens, token } = await setUp(tempDir(), { a2aMaxWaitsPerCaller: 2 })
    const url = `${relay.url}/a2a/helper`
    const post = (bearer: string, method: string, params: unknown, signal?: AbortSignal) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'a2a-version': '1.0',
          authorization: `Bearer ${bearer}`,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        ...(signal === undefined ? {} : { signal }),
      })
    const message = () => ({ messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text: 'wait' }] })
    const total = async (bearer: string) =>
      ((await (await post(bearer, 'ListTasks', {})).json()) as { result: { totalSize: number } }).result
        .totalSize
    /** Waits (for queued messages, not for time) until `bearer` has `n` tasks. */
    const untilTasks = async (bearer: string, n: number) => {
      while ((await total(bearer)) < n) await spool.waitForMessages('helper', { timeoutMs: 100 })
    }
    const stop = new AbortController()
    onCleanup(() => stop.abort())
    const waiting = [1, 2].map(() => post(token, 'SendMessage', { message: message() }, stop.signal))
    await untilTasks(token, 2)

    for (const [method, params] of [
      ['SendMessage', { message: message() }],
      ['SendMessage', { message: message(), configuration: { returnImmediately: false } }],
      ['SendStreamingMessage', { message: message() }],
    ] as const) {
      // Without the limit this request would wait for an answer that never comes: bounded, it fails instead.
      const refused = await post(token, method, params, AbortSignal.timeout(30_000))
      expect(refused.status, method).toBe(429)
      expect(refused.headers.get('retry-after')).toBe('1')
      expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
        code: -32000,
        message: expect.stringMatching(/returnImmediately/),
      })
    }
    // Nothing was sent by the refused requests; one that returns at once is not a wait.
    expect(await total(token)).toBe(2)
    const immediate = await post(token, 'SendMessage', {
      message: message(),
      configuration: { returnImmediately: true },
    })
    expect(immediate.status).toBe(200)
    expect(await total(token)).toBe(3)

    // Another caller has waits of its own.
    const other = (await tokens.create('other')).token
    const otherWait = post(other, 'SendMessage', { message: message() }, stop.signal)
    await untilTasks(other, 1)

    // The agent answers the first task: its blocking request ends, and its slot is free again.
    await answerOnce(spool, () => ({ body: 'done' }))
    const answered = await Promise.race(waiting)
    expect(answered.status).toBe(200)
    const next = post(token, 'SendMessage', { message: message() }, stop.signal)
    await untilTasks(token, 4)
    stop.abort()
    await Promise.allSettled([...waiting, otherWait, next])
  })
})
