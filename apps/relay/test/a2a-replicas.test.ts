import { type Message, Role, TaskState } from '@a2a-js/sdk'
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client'
import { A2ATokens } from '@agent-comm/a2a'
import { openPostgres, RelaySecretsKey } from '@agent-comm/postgres'
import { PostgresA2AStore } from '@agent-comm/postgres/a2a'
import { createTestDatabase, type TestDatabase } from '@agent-comm/postgres/testing'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createRelayLogger, type RelayHandle, relayConfig, startRelay } from '../src/index.js'
import { tempDir } from './helpers.js'

const db: TestDatabase = await createTestDatabase({ name: 'relay_a2a' })
afterAll(async () => {
  await db.drop()
})

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const key = RelaySecretsKey.generate().toBase64()

async function replica(schema: string): Promise<RelayHandle> {
  const relay = await startRelay(
    relayConfig({
      dataDir: tempDir(),
      port: 0,
      databaseUrl: db.url,
      postgresSchema: schema,
      secretsKey: key,
    }),
    { logger: createRelayLogger({ level: 'silent' }) },
  )
  cleanups.push(() => relay.close())
  return relay
}

function client(url: string, token: string) {
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers)
    headers.set('authorization', `Bearer ${token}`)
    return fetch(input, { ...init, headers })
  }
  return new ClientFactory({ transports: [new JsonRpcTransportFactory({ fetchImpl })] }).createFromUrl(
    `${url}/a2a/helper/`,
  )
}

function userMessage(text: string): Message {
  return {
    messageId: crypto.randomUUID(),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  }
}

describe.skipIf(db.kind !== 'server')('A2A on relay replicas on PostgreSQL', () => {
  it('answers GetTask and SubscribeToTask for a task sent through the other replica', async () => {
    const schema = 'relay_a2a_1'
    const [a, b] = [await replica(schema), await replica(schema)]
    // The agent's side and the operator's token, on the same database.
    const database = await openPostgres({ url: db.url, schema })
    cleanups.push(() => database.close())
    await database.registry.register({ agentId: 'helper', metadata: { a2a: { skills: [{ id: 'answer' }] } } })
    const store = await PostgresA2AStore.connect({ url: db.url, schema })
    cleanups.push(() => store.close())
    const { token } = await new A2ATokens(store).create('acme')

    const viaA = await client(a.url, token)
    const viaB = await client(b.url, token)
    const sent = (await viaA.sendMessage({
      tenant: '',
      message: userMessage('hello replicas'),
      configuration: {
        acceptedOutputModes: [],
        taskPushNotificationConfig: undefined,
        returnImmediately: true,
      },
      metadata: undefined,
    })) as { id: string }
    expect((await viaB.getTask({ tenant: '', id: sent.id })).status?.state).toBe(
      TaskState.TASK_STATE_SUBMITTED,
    )

    const answer = (async () => {
      for (;;) {
        const [claimed] = await database.spool.claim('helper', { limit: 1 })
        if (claimed === undefined) {
          await database.spool.waitForMessages('helper', { timeoutMs: 200 })
          continue
        }
        await database.spool.send({
          fromAgent: 'helper',
          toAgent: claimed.message.fromAgent,
          body: 'hello from one database',
          routing: { replyTo: claimed.message.id, conversationId: claimed.message.routing.conversationId },
        })
        await database.spool.ack(claimed.message.id, 'helper', { receipt: claimed.lease.receipt })
        return
      }
    })()
    const states: number[] = []
    for await (const event of viaB.resubscribeTask({ tenant: '', id: sent.id })) {
      if (event.payload?.$case === 'statusUpdate') states.push(event.payload.value.status?.state ?? 0)
    }
    await answer
    expect(states.at(-1)).toBe(TaskState.TASK_STATE_COMPLETED)
    const [fromA, fromB] = [
      await viaA.getTask({ tenant: '', id: sent.id }),
      await viaB.getTask({ tenant: '', id: sent.id }),
    ]
    expect(fromA.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    expect(fromB.artifacts).toEqual(fromA.artifacts)
    expect(fromB.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'hello from one database' })
  })
})
